// service-resource-limits: every long-running service sets CPU and memory limits.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { isLongRunningMode, serviceMode, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";
import { isObject, isUnknown } from "../lib/values";

export const NAME = "service-resource-limits";

/** A limit is set when it is a positive number or a non-empty size string ("512M"); unknown counts as set. */
const isSet = (v: unknown) => isUnknown(v) || (typeof v === "number" && v > 0) || (typeof v === "string" && v.trim() !== "" && v.trim() !== "0");

export function serviceResourceLimits(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Every long-running service sets CPU and memory limits.",
        enforcementLevel,
        severity: "medium",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            const mode = serviceMode(props);
            if (!mode || !isLongRunningMode(mode)) return;
            const res = props.resources;
            if (isUnknown(res)) return;
            const limits = isObject(res) ? res.limits : undefined;
            if (isUnknown(limits)) return;
            const l = isObject(limits) ? limits : {};
            const missing = [!isSet(l.memory) && "memory", !isSet(l.cpus) && "cpus"].filter(Boolean) as string[];
            if (missing.length === 0) return;
            report(
                `${serviceTitle(props, args.name)} has no ${missing.join(" and no ")} limit: one leaking or busy task can take a node's ` +
                    `memory or CPU from every other task on it (the kernel's OOM killer picks any of them, a manager's Raft included), ` +
                    `and the scheduler cannot place tasks by what they use. ` +
                    `Fix: set resources: { limits: { cpus: 1, memory: "512M" }, reservations: { memory: "256M" } } sized from what it uses.`,
            );
        }),
    };
}
