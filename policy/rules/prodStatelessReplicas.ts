// prod-stateless-replicas: in prod, a stateless replicated service runs at least 2 replicas.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { hasFlag, isStateful, LABELS, serviceMode, serviceTitle } from "../lib/conventions";
import { profileNote, ProfileSource, stackProfile } from "../lib/profile";
import { validateTypes } from "../lib/rule";
import { TYPES, type ServiceProps } from "../lib/types";
import { isUnknown } from "../lib/values";

export const NAME = "prod-stateless-replicas";

export function prodStatelessReplicas(enforcementLevel: EnforcementLevel, profileOf: ProfileSource = stackProfile): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "In prod, stateless replicated services run at least 2 replicas (0 means deliberately stopped).",
        enforcementLevel,
        severity: "medium",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            const profile = profileOf();
            if (profile.profile !== "prod") return args.notApplicable(`profile ${profile.profile}: single replicas are fine outside prod`);
            if (serviceMode(props) !== "replicated" || isStateful(props) !== false) return; // global runs everywhere; jobs finish; stateful: see stateful-pinned-with-volume
            if (isUnknown(props.replicas)) return;
            if (hasFlag(props, LABELS.singleton)) return; // must never run twice (a scheduler)
            const replicas = props.replicas === undefined || props.replicas === null ? 1 : props.replicas;
            if (typeof replicas !== "number" || replicas === 0 || replicas >= 2) return;
            report(
                `${serviceTitle(props, args.name)} is stateless and runs ${replicas} replica${props.replicas === undefined ? " (the default)" : ""}: ` +
                    `when its node fails or drains, or while an update replaces the task, nothing serves until Swarm starts a new one. ` +
                    `Fix: set replicas: 2 or more (with maxReplicasPerNode: 1 or a spread preference so they land on different nodes). ` +
                    `If the service keeps state, label it ${LABELS.stateful}=true.` +
                    profileNote(profile),
            );
        }),
    };
}
