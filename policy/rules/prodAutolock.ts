// prod-autolock: a prod swarm is autolocked.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { profileNote, ProfileSource, stackProfile } from "../lib/profile";
import { validateTypes } from "../lib/rule";
import { TYPES, type SwarmInitProps } from "../lib/types";
import { isUnknown } from "../lib/values";

export const NAME = "prod-autolock";

export function prodAutolock(enforcementLevel: EnforcementLevel, profileOf: ProfileSource = stackProfile): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "In prod the swarm is initialized with autolock on (Raft keys encrypted at rest).",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<SwarmInitProps>([TYPES.swarmInit], (props, args, report) => {
            const profile = profileOf();
            if (profile.profile !== "prod") return args.notApplicable(`profile ${profile.profile}: autolock is required in prod only`);
            if (isUnknown(props.autolock) || props.autolock === true) return;
            report(
                `the swarm is initialized with autolock ${props.autolock === undefined ? "not set (off)" : String(props.autolock)}: ` +
                    `the Raft log (with every Swarm secret and the TLS keys) then sits unencrypted on each manager's disk, ` +
                    `readable by anyone who gets a manager's disk or backup. ` +
                    `Fix: set swarm-etl:autolock true (prod's default) and keep the unlock key (docker swarm unlock-key) in your secret store.` +
                    profileNote(profile),
            );
        }),
    };
}
