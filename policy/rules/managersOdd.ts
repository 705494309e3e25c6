// swarm-managers-odd: the swarm has an odd number of managers.
import type { EnforcementLevel, StackValidationPolicy } from "@pulumi/policy";
import { clusterOf, managersOf } from "../lib/cluster";

export const NAME = "swarm-managers-odd";

export function managersOdd(enforcementLevel: EnforcementLevel): StackValidationPolicy {
    return {
        name: NAME,
        description: "The swarm has an odd number of managers (Raft needs a majority of them).",
        enforcementLevel,
        severity: "high",
        validateStack: (args, report) => {
            const cluster = clusterOf(args.resources);
            if (!cluster.declared) return args.notApplicable("the stack declares no swarm (no SwarmInit)");
            const managers = managersOf(cluster);
            if (!managers || cluster.unresolvedNodeSpecs > 0) return; // a role is not known yet (preview)
            if (managers.length % 2 === 1) return;
            const n = managers.length;
            report(
                `the swarm has ${n} managers (${managers.map((m) => m.title).join(", ")}): Raft needs a majority, so an even number adds no fault ` +
                    `tolerance: ${n} managers survive the loss of ${(n - 2) / 2}, as ${n - 1} do, and a network split into two halves stops both. ` +
                    `Fix: use 1, 3 or 5 managers (swarm-etl:managers; a NodeSpec role can also promote or demote a node).`,
            );
        },
    };
}
