// prod-managers-drained: in prod, managers run no workloads (availability drain), except the
// control manager: one manager left active (node label swarm-etl.control=true) for the services
// that must read a manager's Docker API (Prometheus, through a read-only socket proxy whose socket
// a local volume shares). Only those control services (service label swarm-etl.placement=control)
// may be placed on it; every other service has a constraint that keeps it off.
import type { EnforcementLevel, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { clusterOf, managersOf, type Member } from "../lib/cluster";
import { serviceTitle } from "../lib/conventions";
import { CONTROL_NODE_LABEL, CONTROL_PLACEMENT, EXCLUDE_CONTROL_CONSTRAINT, excludes, PLACEMENT_LABEL } from "../lib/placement";
import { profileNote, ProfileSource, ResolvedProfile, stackProfile } from "../lib/profile";
import { TYPES, type ServiceProps } from "../lib/types";
import { isObject, isUnknown, raw } from "../lib/values";

export const NAME = "prod-managers-drained";
export { CONTROL_NODE_LABEL, CONTROL_PLACEMENT, EXCLUDE_CONTROL_CONSTRAINT, PLACEMENT_LABEL };

/** Labelled swarm-etl.placement=control; undefined while its labels are unknown. */
function isControlService(s: ServiceProps): boolean | undefined {
    if (isUnknown(s.labels)) return undefined;
    if (!isObject(s.labels)) return false;
    const v = s.labels[PLACEMENT_LABEL];
    return isUnknown(v) ? undefined : v === CONTROL_PLACEMENT;
}

/** The service's placement constraints ([] when none); undefined while any is unknown. */
function constraintsOf(s: ServiceProps): string[] | undefined {
    if (s.constraints === undefined || s.constraints === null) return [];
    if (isUnknown(s.constraints)) return undefined;
    if (!Array.isArray(s.constraints)) return [];
    if (s.constraints.some(isUnknown)) return undefined;
    return s.constraints.filter((c): c is string => typeof c === "string");
}

/** Reports the services that can be placed on the control manager `m` and are not control services. */
function checkControlManager(m: Member, labels: Record<string, string>, services: PolicyResource[], profile: ResolvedProfile, report: (message: string, urn: string) => void) {
    const node = { role: "manager", names: m.names, labels };
    for (const r of services) {
        const s = raw<ServiceProps>(r.props);
        const control = isControlService(s);
        if (control === true) continue;
        const constraints = constraintsOf(s);
        if (constraints === undefined) continue; // unknown: decided at update
        if (excludes(constraints, node)) continue;
        if (control === undefined) continue; // unknown: decided at update
        const placement = constraints.length ? `its constraints ${JSON.stringify(constraints)} do not keep it off` : "it has no placement constraints";
        report(
            `${serviceTitle(s, r.name)} can be placed on the control manager ${m.title} (${CONTROL_NODE_LABEL}=true, availability ${m.availability}): ${placement}, and it is not a control service. ` +
                `The control manager is the one manager left active, for the services that read its Docker API; any other task there competes with Raft and the dispatcher for CPU, memory and disk. ` +
                `Fix: add the constraint ${EXCLUDE_CONTROL_CONSTRAINT} (the program adds it to every service that is not a control service), ` +
                `or, when it must run beside Prometheus, label it ${PLACEMENT_LABEL}: ${CONTROL_PLACEMENT}.` +
                profileNote(profile),
            r.urn,
        );
    }
}

export function prodManagersDrained(enforcementLevel: EnforcementLevel, profileOf: ProfileSource = stackProfile): StackValidationPolicy {
    return {
        name: NAME,
        description:
            `In prod, every manager is drained of workloads (a NodeSpec with availability drain), except the control manager (node label ${CONTROL_NODE_LABEL}=true): ` +
            `on it, only control services (service label ${PLACEMENT_LABEL}=${CONTROL_PLACEMENT}) can be placed.`,
        enforcementLevel,
        severity: "medium",
        validateStack: (args, report) => {
            const profile = profileOf();
            if (profile.profile !== "prod") return args.notApplicable(`profile ${profile.profile}: managers may run workloads outside prod`);
            const cluster = clusterOf(args.resources);
            if (!cluster.declared) return args.notApplicable("the stack declares no swarm (no SwarmInit)");
            const managers = managersOf(cluster);
            if (!managers || cluster.unresolvedNodeSpecs > 0) return;
            const services = args.resources.filter((r) => r.type === TYPES.service);
            for (const m of managers) {
                if (m.availability === undefined || m.availability === "drain") continue; // unknown: decided at update
                if (m.labels === undefined) continue; // labels unknown: decided at update
                if (m.labels[CONTROL_NODE_LABEL] === "true") {
                    checkControlManager(m, m.labels, services, profile, report);
                    continue;
                }
                report(
                    `manager ${m.title} has availability ${m.availability}, not drain: tasks scheduled on it compete with Raft and the dispatcher for CPU, memory and disk, ` +
                        `and a busy or OOM-killed manager can cost the swarm its quorum. ` +
                        `Fix: drain it with a NodeSpec (availability: drain; swarm-etl:managers[].availability, whose prod default is drain), ` +
                        `or make it the control manager: label it ${CONTROL_NODE_LABEL}: "true" (swarm-etl:managers[].labels), and only control services run there.` +
                        profileNote(profile),
                    m.specUrn ?? m.urns[m.urns.length - 1],
                );
            }
        },
    };
}
