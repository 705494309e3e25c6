// service-restart-policy: every long-running service declares a restart policy that restarts it.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { isLongRunningMode, serviceMode, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";
import { isObject, isUnknown } from "../lib/values";

export const NAME = "service-restart-policy";

export function serviceRestartPolicy(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Every long-running service declares a restart policy (condition any or on-failure, with a delay).",
        enforcementLevel,
        severity: "medium",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            const mode = serviceMode(props);
            if (!mode || !isLongRunningMode(mode)) return;
            const rp = props.restartPolicy;
            if (isUnknown(rp) || (isObject(rp) && isUnknown(rp.condition))) return;
            let why: string | undefined;
            if (!isObject(rp)) {
                why =
                    "declares no restart policy: it then runs on the provider's default (condition any, delay 5s), which the review " +
                    "cannot see, and nothing says how it comes back after a crash or how fast a crash loop may hammer the node and its dependencies";
            } else if (rp.condition === "none") {
                why = "has restart condition none: a task that exits or crashes stays down until the next deployment";
            }
            if (!why) return;
            report(
                `${serviceTitle(props, args.name)} ${why}. ` +
                    `Fix: set restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "60s" } (or condition "on-failure").`,
            );
        }),
    };
}
