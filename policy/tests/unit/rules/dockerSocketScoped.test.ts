import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { dockerSocketScoped } from "../../../rules/dockerSocketScoped";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = dockerSocketScoped("mandatory") as ResourceValidationPolicy;
const SOCKET = { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" };
/** The scheduler as the Scheduler component declares it. */
const scheduler = (over: Record<string, unknown> = {}) =>
    service({ name: "swarm-etl-scheduler", replicas: 1, networks: undefined, secrets: undefined, constraints: ["node.role==manager"], mounts: [SOCKET], labels: { "swarm-etl.docker-api": "manager", "swarm-etl.singleton": "true" }, ...over });

describe("docker-socket-scoped", () => {
    test("compliant: the scheduler (declared, on managers, no port, no network); services without the socket", async () => {
        expect(await checkResource(rule, TYPES.service, scheduler())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mounts: [{ type: "volume", source: "data", target: "/var/run/docker.sock" }] }))).toEqual({ violations: [] });
    });

    test("non-compliant: an undeclared service mounts the socket (either spelling of the path)", async () => {
        for (const source of ["/var/run/docker.sock", "/run/docker.sock"]) {
            const r = await checkResource(rule, TYPES.service, service({ mounts: [{ ...SOCKET, source }] }));
            expect(r.violations.map((v) => v.message)).toEqual([
                `service "etl-api" mounts the Docker socket (${source}): whoever controls it is root on that node, and it is not declared for that. ` +
                    "Fix: do not mount the socket (talk to what you need over the swarm's networks); if the service must drive Swarm (a scheduler), label it swarm-etl.docker-api=manager and pin it to managers; " +
                    "if it is a read-only API proxy, label it swarm-etl.docker-api=read-only-proxy and hand its socket on through a volume.",
            ]);
        }
    });

    test("non-compliant: declared, but on any node, with a port and a network", async () => {
        const r = await checkResource(rule, TYPES.service, scheduler({ constraints: ["node.labels.etl.zone==a"], ports: [{ target: 8080, published: 8080 }], networks: ["net1"] }));
        expect(r.violations.map((v) => v.message)).toEqual([
            'service "swarm-etl-scheduler" mounts the Docker socket (/var/run/docker.sock): whoever controls it is root on that node: it is not pinned to managers (constraints: ["node.labels.etl.zone==a"]); add constraints: ["node.role==manager"]; it publishes ports; remove them; it is attached to networks; remove them (it needs only its daemon).',
        ]);
    });

    test("a read-only proxy: on any node (global) when it hands its socket on through a volume, with no port and no network", async () => {
        const proxy = (over: Record<string, unknown> = {}) =>
            service({ name: "obs-socket-proxy", mode: "global", replicas: undefined, networks: undefined, constraints: undefined, mounts: [SOCKET, { type: "volume", source: "obs-docker-ro", target: "/run/docker-ro" }], labels: { "swarm-etl.docker-api": "read-only-proxy" }, ...over });
        expect(await checkResource(rule, TYPES.service, proxy())).toEqual({ violations: [] });
        const r = await checkResource(rule, TYPES.service, proxy({ mounts: [SOCKET], ports: [{ target: 2375, published: 2375 }], networks: ["net1"] }));
        expect(r.violations.map((v) => v.message)).toEqual([
            'service "obs-socket-proxy" mounts the Docker socket (/var/run/docker.sock): whoever controls it is root on that node: as a read-only proxy it hands its socket on through no volume; mount one for its filtered socket; it publishes ports; remove them; it is attached to networks; remove them (it needs only its daemon).',
        ]);
    });

    test("unknown during preview: unknown mounts or labels are not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ mounts: UNKNOWN.array }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, scheduler({ labels: { "swarm-etl.docker-api": UNKNOWN.string } }))).toEqual({ violations: [] });
    });
});
