import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { serviceHealthcheck } from "../../../rules/serviceHealthcheck";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = serviceHealthcheck("mandatory") as ResourceValidationPolicy;

describe("service-healthcheck", () => {
    test("compliant: a replicated and a global service with healthchecks; a job needs none", async () => {
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mode: "global", replicas: undefined }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mode: "replicated-job", healthcheck: undefined }))).toEqual({ violations: [] });
    });

    test("non-compliant: no healthcheck (mode left to the default, replicated)", async () => {
        const { violations } = await checkResource(rule, TYPES.service, service({ mode: undefined, healthcheck: undefined }));
        expect(violations).toEqual([
            {
                message:
                    'service "etl-api" declares no healthcheck: Swarm then counts a task as running as soon as its process starts, so a hung or ' +
                    "half-started task keeps receiving traffic, a rolling update moves on past a broken version, and pulumi up reports success " +
                    "for it. (An image's own HEALTHCHECK is invisible to a preview.) Fix: set healthcheck: { test: \"<command that fails when the " +
                    'service cannot serve>", interval: "10s", timeout: "3s", retries: 3, startPeriod: "30s" }.',
            },
        ]);
    });

    test("non-compliant: healthcheck disabled with NONE", async () => {
        const { violations } = await checkResource(rule, TYPES.service, service({ healthcheck: { test: ["NONE"] } }));
        expect(violations[0].message).toContain('service "etl-api" disables its healthcheck (NONE):');
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ healthcheck: UNKNOWN.object }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mode: UNKNOWN.string, healthcheck: undefined }))).toEqual({ violations: [] });
    });

    test("a scheduled template (0 replicas, swarm-etl.schedule) runs only as jobs: no healthcheck needed; 0 replicas without a schedule still needs one", async () => {
        const template = service({ replicas: 0, healthcheck: undefined, labels: { "swarm-etl.schedule": "0 1 * * 0" } });
        expect(await checkResource(rule, TYPES.service, template)).toEqual({ violations: [] });
        expect((await checkResource(rule, TYPES.service, { ...template, labels: {} })).violations).toHaveLength(1);
        expect((await checkResource(rule, TYPES.service, { ...template, replicas: 1 })).violations).toHaveLength(1);
    });
});
