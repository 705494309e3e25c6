import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { serviceRestartPolicy } from "../../../rules/serviceRestartPolicy";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = serviceRestartPolicy("mandatory") as ResourceValidationPolicy;

describe("service-restart-policy", () => {
    test("compliant: condition any or on-failure; a job is not checked", async () => {
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ restartPolicy: { condition: "on-failure", delay: "10s", maxAttempts: 5 } }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mode: "replicated-job", restartPolicy: { condition: "none" } }))).toEqual({ violations: [] });
    });

    test("non-compliant: no restart policy declared", async () => {
        const { violations } = await checkResource(rule, TYPES.service, service({ restartPolicy: undefined }));
        expect(violations).toEqual([
            {
                message:
                    'service "etl-api" declares no restart policy: it then runs on the provider\'s default (condition any, delay 5s), which ' +
                    "the review cannot see, and nothing says how it comes back after a crash or how fast a crash loop may hammer the node and " +
                    'its dependencies. Fix: set restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "60s" } (or condition "on-failure").',
            },
        ]);
    });

    test("non-compliant: condition none", async () => {
        const { violations } = await checkResource(rule, TYPES.service, service({ restartPolicy: { condition: "none" } }));
        expect(violations[0].message).toContain("has restart condition none: a task that exits or crashes stays down until the next deployment. Fix:");
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ restartPolicy: UNKNOWN.object }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ restartPolicy: { condition: UNKNOWN.string } }))).toEqual({ violations: [] });
    });
});
