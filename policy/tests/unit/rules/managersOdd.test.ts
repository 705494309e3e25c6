import type { StackValidationPolicy } from "@pulumi/policy";
import { managersOdd } from "../../../rules/managersOdd";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { cluster, prodCluster, swarmJoin } from "../fixtures";
import { checkStack } from "../harness";

const rule = managersOdd("mandatory") as StackValidationPolicy;

describe("swarm-managers-odd", () => {
    test("compliant: 3 managers and 2 workers", async () => {
        expect(await checkStack(rule, prodCluster())).toEqual({ violations: [] });
    });

    test("compliant: 1 manager", async () => {
        expect((await checkStack(rule, cluster({ managers: ["mgr1"], workers: ["wkr1"] }))).violations).toEqual([]);
    });

    test("non-compliant: 2 managers (says why and how to fix)", async () => {
        const { violations } = await checkStack(rule, cluster({ managers: ["mgr1", "mgr2"], workers: ["wkr1"] }));
        expect(violations).toEqual([
            {
                message:
                    "the swarm has 2 managers (prod-mgr1, prod-mgr2): Raft needs a majority, so an even number adds no fault tolerance: " +
                    "2 managers survive the loss of 0, as 1 do, and a network split into two halves stops both. " +
                    "Fix: use 1, 3 or 5 managers (swarm-etl:managers; a NodeSpec role can also promote or demote a node).",
            },
        ]);
    });

    test("non-compliant: a NodeSpec promotes a worker to a 4th manager", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1"] });
        res.push({ type: TYPES.nodeSpec, name: "promote", props: { node: "prod-wkr1", role: "manager" } });
        const { violations } = await checkStack(rule, res);
        expect(violations).toHaveLength(1);
        expect(violations[0].message).toContain("the swarm has 4 managers (prod-mgr1, prod-mgr2, prod-mgr3, prod-wkr1)");
    });

    test("a NodeSpec whose node is unknown is matched through its property dependency", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1"] });
        res.push({ type: TYPES.nodeSpec, name: "demote", props: { node: UNKNOWN.string, role: "worker" }, propertyDependencies: { node: ["swarm-mgr3"] } });
        expect((await checkStack(rule, res)).violations[0].message).toContain("the swarm has 2 managers (prod-mgr1, prod-mgr2)");
    });

    test("unknown during preview: a role not known yet is not a violation", async () => {
        const res = cluster({ managers: ["mgr1"], workers: [] });
        res.push({ type: TYPES.swarmJoin, name: "swarm-mgr2", props: swarmJoin("mgr2", UNKNOWN.string) });
        expect(await checkStack(rule, res)).toEqual({ violations: [] });
    });

    test("unknown during preview: a NodeSpec with an unknown node and no dependency suspends the rule", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2"] });
        res.push({ type: TYPES.nodeSpec, name: "spec", props: { node: UNKNOWN.string, role: "worker" } });
        expect((await checkStack(rule, res)).violations).toEqual([]);
    });

    test("not applicable to a stack that declares no swarm", async () => {
        expect(await checkStack(rule, [{ type: "pulumi:pulumi:Stack", name: "s", props: {} }])).toEqual({ violations: [], notApplicable: "the stack declares no swarm (no SwarmInit)" });
    });
});
