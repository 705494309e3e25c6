// prod-managers-drained: in prod, managers run no workloads (availability drain).
import type { EnforcementLevel, StackValidationPolicy } from "@pulumi/policy";
import { clusterOf, managersOf } from "../lib/cluster";
import { profileNote, ProfileSource, stackProfile } from "../lib/profile";

export const NAME = "prod-managers-drained";

export function prodManagersDrained(enforcementLevel: EnforcementLevel, profileOf: ProfileSource = stackProfile): StackValidationPolicy {
    return {
        name: NAME,
        description: "In prod, every manager is drained of workloads (a NodeSpec with availability drain).",
        enforcementLevel,
        severity: "medium",
        validateStack: (args, report) => {
            const profile = profileOf();
            if (profile.profile !== "prod") return args.notApplicable(`profile ${profile.profile}: managers may run workloads outside prod`);
            const cluster = clusterOf(args.resources);
            if (!cluster.declared) return args.notApplicable("the stack declares no swarm (no SwarmInit)");
            const managers = managersOf(cluster);
            if (!managers || cluster.unresolvedNodeSpecs > 0) return;
            for (const m of managers) {
                if (m.availability === undefined || m.availability === "drain") continue; // unknown: decided at update
                report(
                    `manager ${m.title} has availability ${m.availability}, not drain: tasks scheduled on it compete with Raft and the dispatcher for CPU, memory and disk, ` +
                        `and a busy or OOM-killed manager can cost the swarm its quorum. ` +
                        `Fix: drain it with a NodeSpec (availability: drain; swarm-etl:managers[].availability, whose prod default is drain).` +
                        profileNote(profile),
                    m.specUrn ?? m.urns[m.urns.length - 1],
                );
            }
        },
    };
}
