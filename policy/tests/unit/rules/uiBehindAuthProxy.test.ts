import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { uiBehindAuthProxy } from "../../../rules/uiBehindAuthProxy";
import { authProxy, service } from "../fixtures";
import { checkResource } from "../harness";

const rule = uiBehindAuthProxy("mandatory") as ResourceValidationPolicy;
const grafana = (over: Record<string, unknown> = {}) => service({ name: "grafana", image: "registry.prod.example.com/obs/grafana:11.2.0", labels: { "swarm-etl.ui": "true" }, ...over });

describe("ui-behind-auth-proxy", () => {
    test("compliant: a UI without ports, and the auth proxy publishing 443", async () => {
        expect(await checkResource(rule, TYPES.service, grafana())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, authProxy({ labels: { "swarm-etl.auth-proxy": "true", "swarm-etl.ui": "true" } }))).toEqual({ violations: [] });
    });

    test("non-compliant: a UI publishing its own port", async () => {
        const { violations } = await checkResource(rule, TYPES.service, grafana({ ports: [{ target: 3000, published: 3000, mode: "ingress" }] }));
        expect(violations).toEqual([
            {
                message:
                    'service "grafana" is a UI (label swarm-etl.ui=true or a well-known UI image) and publishes 3000->3000/tcp (ingress): anyone who ' +
                    "reaches a node can use it without signing in through the identity provider, and its own login (if any) is not under the " +
                    "platform's SSO, MFA and audit. Fix: remove ports, attach it to the auth proxy's overlay network and route to it from the auth " +
                    "proxy (the service labelled swarm-etl.auth-proxy=true). If it is not a UI for people, label it swarm-etl.ui=false.",
            },
        ]);
    });

    test("a well-known UI image counts as a UI unless labelled swarm-etl.ui=false", async () => {
        const unlabelled = grafana({ labels: {}, ports: [{ target: 3000, published: 3000 }] });
        expect((await checkResource(rule, TYPES.service, unlabelled)).violations).toHaveLength(1);
        expect((await checkResource(rule, TYPES.service, { ...unlabelled, labels: { "swarm-etl.ui": "false" } })).violations).toEqual([]);
    });

    test("unknown during preview: unknown labels or ports are not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, grafana({ ports: UNKNOWN.array }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ image: UNKNOWN.string, labels: {}, ports: [{ target: 3000, published: 3000 }] }))).toEqual({ violations: [] });
        // a UI image whose labels are not known yet might be labelled swarm-etl.ui=false or be the auth proxy
        expect(await checkResource(rule, TYPES.service, grafana({ labels: UNKNOWN.object, ports: [{ target: 3000, published: 3000 }] }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, grafana({ labels: { "swarm-etl.ui": "true", "swarm-etl.auth-proxy": UNKNOWN.string }, ports: [{ target: 3000, published: 3000 }] }))).toEqual({ violations: [] });
    });
});
