import type { StackValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../../lib/profile";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { prodManagersDrained } from "../../../rules/prodManagersDrained";
import { cluster, prodCluster } from "../fixtures";
import { checkStack, urnOf } from "../harness";

const prod = prodManagersDrained("mandatory", fixedProfile("prod")) as StackValidationPolicy;

describe("prod-managers-drained", () => {
    test("compliant: every prod manager has a NodeSpec with availability drain", async () => {
        expect(await checkStack(prod, prodCluster())).toEqual({ violations: [] });
    });

    test("non-compliant: one manager active, one without a NodeSpec (reported on each manager)", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1"], availability: { mgr1: "drain", mgr2: "active" } });
        const { violations } = await checkStack(prod, res);
        expect(violations.map((v) => v.urn)).toEqual([urnOf(TYPES.nodeSpec, "swarm-mgr2-spec"), urnOf(TYPES.swarmJoin, "swarm-mgr3")]);
        expect(violations[0].message).toBe(
            "manager prod-mgr2 has availability active, not drain: tasks scheduled on it compete with Raft and the dispatcher for CPU, memory and disk, " +
                "and a busy or OOM-killed manager can cost the swarm its quorum. " +
                "Fix: drain it with a NodeSpec (availability: drain; swarm-etl:managers[].availability, whose prod default is drain). [profile prod, from fixed]",
        );
    });

    test("NodeSpecs that name their node by host name are matched too", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], availability: { mgr1: "drain", mgr2: "drain", mgr3: "pause" }, nodeRef: "name" });
        const { violations } = await checkStack(prod, res);
        expect(violations.map((v) => v.message.split(":")[0])).toEqual(["manager prod-mgr3 has availability pause, not drain"]);
    });

    test("unknown during preview: an availability not known yet is not a violation", async () => {
        const res = cluster({ managers: ["mgr1", "mgr2", "mgr3"], availability: { mgr1: "drain", mgr2: "drain", mgr3: UNKNOWN.string } });
        expect((await checkStack(prod, res)).violations).toEqual([]);
    });

    test("not applicable outside prod", async () => {
        const lab = prodManagersDrained("mandatory", fixedProfile("lab")) as StackValidationPolicy;
        expect((await checkStack(lab, cluster({ managers: ["mgr1"] }))).notApplicable).toBe("profile lab: managers may run workloads outside prod");
    });
});
