import type { ResourceValidationPolicy } from "@pulumi/policy";
import { fixedProfile } from "../../../lib/profile";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { prodStatelessReplicas } from "../../../rules/prodStatelessReplicas";
import { postgres, service } from "../fixtures";
import { checkResource } from "../harness";

const prod = prodStatelessReplicas("mandatory", fixedProfile("prod")) as ResourceValidationPolicy;

describe("prod-stateless-replicas", () => {
    test("compliant: 2 replicas, a global service, a stateful one with 1, one scaled to 0", async () => {
        expect(await checkResource(prod, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(prod, TYPES.service, service({ mode: "global", replicas: undefined }))).toEqual({ violations: [] });
        expect(await checkResource(prod, TYPES.service, postgres({ replicas: 1 }))).toEqual({ violations: [] });
        expect(await checkResource(prod, TYPES.service, service({ replicas: 0 }))).toEqual({ violations: [] });
    });

    test("a singleton (the scheduler: it must never run twice) runs 1 replica; without the label it is flagged", async () => {
        expect(await checkResource(prod, TYPES.service, service({ replicas: 1, labels: { "swarm-etl.singleton": "true" } }))).toEqual({ violations: [] });
        expect((await checkResource(prod, TYPES.service, service({ replicas: 1, labels: { "swarm-etl.singleton": "false" } }))).violations).toHaveLength(1);
    });

    test("non-compliant: a stateless service left at the default single replica", async () => {
        const { violations } = await checkResource(prod, TYPES.service, service({ replicas: undefined }));
        expect(violations).toEqual([
            {
                message:
                    'service "etl-api" is stateless and runs 1 replica (the default): when its node fails or drains, or while an update ' +
                    "replaces the task, nothing serves until Swarm starts a new one. Fix: set replicas: 2 or more (with maxReplicasPerNode: 1 " +
                    "or a spread preference so they land on different nodes). If the service keeps state, label it swarm-etl.stateful=true. [profile prod, from fixed]",
            },
        ]);
    });

    test("not applicable outside prod", async () => {
        const dev = prodStatelessReplicas("mandatory", fixedProfile("dev")) as ResourceValidationPolicy;
        expect(await checkResource(dev, TYPES.service, service({ replicas: 1 }))).toEqual({ violations: [], notApplicable: "profile dev: single replicas are fine outside prod" });
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(prod, TYPES.service, service({ replicas: UNKNOWN.number }))).toEqual({ violations: [] });
        expect(await checkResource(prod, TYPES.service, service({ replicas: 1, labels: { "swarm-etl.stateful": UNKNOWN.string } }))).toEqual({ violations: [] });
    });
});
