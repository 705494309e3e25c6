// service-healthcheck: every long-running service (replicated or global) declares a healthcheck.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { isLongRunningMode, serviceMode, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";
import { isObject, isUnknown } from "../lib/values";

export const NAME = "service-healthcheck";

/** True when the healthcheck input disables the check (`NONE`). */
const disabled = (test: unknown) => test === "NONE" || (Array.isArray(test) && test[0] === "NONE");

export function serviceHealthcheck(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Every long-running service declares a healthcheck.",
        enforcementLevel,
        severity: "medium",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            const mode = serviceMode(props);
            if (!mode || !isLongRunningMode(mode)) return; // jobs run to completion; unknown mode: later
            const hc = props.healthcheck;
            if (isUnknown(hc) || (isObject(hc) && isUnknown(hc.test))) return;
            const why = !isObject(hc) ? "declares no healthcheck" : disabled(hc.test) ? "disables its healthcheck (NONE)" : undefined;
            if (!why) return;
            report(
                `${serviceTitle(props, args.name)} ${why}: Swarm then counts a task as running as soon as its process starts, so a ` +
                    `hung or half-started task keeps receiving traffic, a rolling update moves on past a broken version, and pulumi up ` +
                    `reports success for it. (An image's own HEALTHCHECK is invisible to a preview.) ` +
                    `Fix: set healthcheck: { test: "<command that fails when the service cannot serve>", interval: "10s", timeout: "3s", retries: 3, startPeriod: "30s" }.`,
            );
        }),
    };
}
