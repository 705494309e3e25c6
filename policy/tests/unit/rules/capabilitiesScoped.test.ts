import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { capabilitiesScoped } from "../../../rules/capabilitiesScoped";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = capabilitiesScoped("mandatory") as ResourceValidationPolicy;
/** The PostgreSQL router as PostgresCluster declares it. */
const router = (over: Record<string, unknown> = {}) => service({ name: "pg-router", mounts: undefined, ports: undefined, capAdd: ["NET_ADMIN"], ...over });

describe("capabilities-scoped", () => {
    test("compliant: the router (NET_ADMIN in either spelling, no port, no bind mount); services that add nothing", async () => {
        expect(await checkResource(rule, TYPES.service, router())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, router({ capAdd: ["cap_net_admin"] }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ capAdd: [] }))).toEqual({ violations: [] });
    });

    test("non-compliant: any other capability, named as the daemon or the CLI spells it", async () => {
        const r = await checkResource(rule, TYPES.service, router({ capAdd: ["NET_ADMIN", "sys_admin", "CAP_NET_RAW"] }));
        expect(r.violations.map((v) => v.message)).toEqual([
            'service "pg-router" adds the capabilities CAP_SYS_ADMIN, CAP_NET_RAW: only CAP_NET_ADMIN (its own network namespace) may be added. Fix: remove them from capAdd; do what needs them outside the service.',
        ]);
        expect((await checkResource(rule, TYPES.service, router({ capAdd: ["ALL"] }))).violations).toHaveLength(1);
    });

    test("non-compliant: NET_ADMIN with a published port and a bind mount from the node", async () => {
        const r = await checkResource(rule, TYPES.service, router({ ports: [{ target: 5432, published: 5432 }], mounts: [{ type: "bind", source: "/etc", target: "/host-etc" }] }));
        expect(r.violations.map((v) => v.message)).toEqual([
            'service "pg-router" adds CAP_NET_ADMIN: it publishes ports; remove them (reach it over the swarm\'s networks); it bind-mounts /etc from its node; remove them.',
        ]);
    });

    test("unknown during preview: unknown capabilities are not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, router({ capAdd: UNKNOWN.array }))).toEqual({ violations: [] });
    });
});
