import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../../../lib/types";
import { UNKNOWN } from "../../../lib/values";
import { serviceResourceLimits } from "../../../rules/serviceResourceLimits";
import { service } from "../fixtures";
import { checkResource } from "../harness";

const rule = serviceResourceLimits("mandatory") as ResourceValidationPolicy;

describe("service-resource-limits", () => {
    test("compliant: CPU and memory limits (memory in bytes or with a unit); a job is not checked", async () => {
        expect(await checkResource(rule, TYPES.service, service())).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ resources: { limits: { cpus: 0.5, memory: 268435456 } } }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ mode: "global-job", resources: undefined }))).toEqual({ violations: [] });
    });

    test("non-compliant: no resources at all", async () => {
        const { violations } = await checkResource(rule, TYPES.service, service({ resources: undefined }));
        expect(violations).toEqual([
            {
                message:
                    'service "etl-api" has no memory and no cpus limit: one leaking or busy task can take a node\'s memory or CPU from every ' +
                    "other task on it (the kernel's OOM killer picks any of them, a manager's Raft included), and the scheduler cannot place " +
                    'tasks by what they use. Fix: set resources: { limits: { cpus: 1, memory: "512M" }, reservations: { memory: "256M" } } sized from what it uses.',
            },
        ]);
    });

    test("non-compliant: reservations only, or a zero limit", async () => {
        expect((await checkResource(rule, TYPES.service, service({ resources: { reservations: { memory: "256M" } } }))).violations[0].message).toContain("has no memory and no cpus limit");
        expect((await checkResource(rule, TYPES.service, service({ resources: { limits: { cpus: 1, memory: 0 } } }))).violations[0].message).toContain("has no memory limit:");
    });

    test("unknown during preview: not a violation", async () => {
        expect(await checkResource(rule, TYPES.service, service({ resources: UNKNOWN.object }))).toEqual({ violations: [] });
        expect(await checkResource(rule, TYPES.service, service({ resources: { limits: { cpus: UNKNOWN.number, memory: "1G" } } }))).toEqual({ violations: [] });
    });
});
