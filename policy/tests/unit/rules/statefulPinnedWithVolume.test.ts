import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { statefulPinnedWithVolume } from "../../../rules/statefulPinnedWithVolume";
import { postgres, service } from "../fixtures";
import { checkResource } from "../harness";

const rule = statefulPinnedWithVolume("mandatory") as ResourceValidationPolicy;

describe("stateful-pinned-with-volume", () => {
    test("compliant: a database pinned by node label with a named volume; a stateless service is not checked", async () => {
        expect(await checkResource(rule, TYPES.service, postgres())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, postgres({ constraints: ["node.role==worker", "node.labels.etl.storage == postgres"], mounts: [{ type: "bind", source: "/srv/pg", target: "/data" }] }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
    });

    test("non-compliant: pinned by hostname only, data on an anonymous volume", async () => {
        const props = postgres({ constraints: ["node.hostname==prod-wkr1"], mounts: [{ type: "volume", target: "/var/lib/postgresql/data" }] });
        const { violations } = await checkResource(rule, TYPES.service, props);
        expect(violations).toEqual([
            {
                message:
                    'service "etl-db" is stateful (label swarm-etl.stateful=true, swarm-etl.database=true or a database image) but is not pinned to ' +
                    'labelled nodes (constraints: ["node.hostname==prod-wkr1"]): Swarm may reschedule it on any node, where its data is not, and it ' +
                    "starts empty or fails. Fix: label the nodes that hold its data (swarm-etl:managers[]/workers[].labels, e.g. etl.storage: postgres) " +
                    'and add constraints: ["node.labels.etl.storage==postgres"]. A node.hostname constraint alone ties it to a host name, not to a role the node was given.',
            },
            {
                message:
                    'service "etl-db" is stateful (label swarm-etl.stateful=true, swarm-etl.database=true or a database image) but has no named ' +
                    "volume or bind mount (mounts: volume:anonymous): its data lives in the task's writable layer or an anonymous volume and is " +
                    'lost when the task is replaced. Fix: create a Volume on the pinned node and mount it: mounts: [{ type: "volume", source: "<volume name>", target: "<data dir>" }].',
            },
        ]);
    });

    test("non-compliant: a service labelled stateful with no constraints and no mounts", async () => {
        const props = service({ labels: { "swarm-etl.stateful": "true" } });
        expect((await checkResource(rule, TYPES.service, props)).violations.map((v) => v.message.split(":")[0])).toEqual([
            'service "etl-api" is stateful (label swarm-etl.stateful=true, swarm-etl.database=true or a database image) but is not pinned to labelled nodes (constraints',
            'service "etl-api" is stateful (label swarm-etl.stateful=true, swarm-etl.database=true or a database image) but has no named volume or bind mount (mounts',
        ]);
    });

    test("unknown during preview: a constraint from a Volume output and an unknown volume name are not violations", async () => {
        const props = postgres({ constraints: [UNKNOWN.string], mounts: [{ type: "volume", source: UNKNOWN.string, target: "/data" }] });
        expect(await checkResource(rule, TYPES.service, props)).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, postgres({ constraints: UNKNOWN.array, mounts: UNKNOWN.array }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ labels: UNKNOWN.object }))).toEqual({ violations: [] });
    });
});
