import type { StackValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../../lib/profile";
import { prodThreeManagers } from "../../../rules/prodThreeManagers";
import { cluster, prodCluster } from "../fixtures";
import { checkStack } from "../harness";

const prod = prodThreeManagers("mandatory", fixedProfile("prod")) as StackValidationPolicy;

describe("prod-three-managers", () => {
    test("compliant: prod with 3 managers", async () => {
        expect(await checkStack(prod, prodCluster())).toEqual({ violations: [] });
    });

    test("non-compliant: prod with 1 manager", async () => {
        const { violations } = await checkStack(prod, cluster({ managers: ["mgr1"], workers: ["wkr1", "wkr2"] }));
        expect(violations).toEqual([
            {
                message:
                    "prod has 1 manager (prod-mgr1): losing it stops the control plane (no scheduling, no updates, no failover). " +
                    "Fix: list 3 or 5 managers in swarm-etl:managers. [profile prod, from fixed]",
            },
        ]);
    });

    test("not applicable outside prod: dev with 1 manager", async () => {
        const dev = prodThreeManagers("mandatory", fixedProfile("dev")) as StackValidationPolicy;
        expect(await checkStack(dev, cluster({ managers: ["mgr1"] }))).toEqual({ violations: [], notApplicable: "profile dev: only prod needs 3 managers" });
    });
});
