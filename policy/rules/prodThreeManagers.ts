// prod-three-managers: a prod swarm has at least 3 managers.
import type { EnforcementLevel, StackValidationPolicy } from "@pulumi/policy";
import { clusterOf, managersOf } from "../lib/cluster";
import { profileNote, ProfileSource, stackProfile } from "../lib/profile";

export const NAME = "prod-three-managers";

export function prodThreeManagers(enforcementLevel: EnforcementLevel, profileOf: ProfileSource = stackProfile): StackValidationPolicy {
    return {
        name: NAME,
        description: "A prod swarm has at least 3 managers, so it keeps working when one is lost.",
        enforcementLevel,
        severity: "high",
        validateStack: (args, report) => {
            const profile = profileOf();
            if (profile.profile !== "prod") return args.notApplicable(`profile ${profile.profile}: only prod needs 3 managers`);
            const cluster = clusterOf(args.resources);
            if (!cluster.declared) return args.notApplicable("the stack declares no swarm (no SwarmInit)");
            const managers = managersOf(cluster);
            if (!managers || cluster.unresolvedNodeSpecs > 0) return;
            if (managers.length >= 3) return;
            report(
                `prod has ${managers.length} manager${managers.length === 1 ? "" : "s"} (${managers.map((m) => m.title).join(", ") || "none"}): ` +
                    `losing ${managers.length === 1 ? "it" : "one"} stops the control plane (no scheduling, no updates, no failover). ` +
                    `Fix: list 3 or 5 managers in swarm-etl:managers.` +
                    profileNote(profile),
            );
        },
    };
}
