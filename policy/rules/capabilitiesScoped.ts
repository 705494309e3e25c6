// capabilities-scoped: a Linux capability added to a service's tasks widens what a compromised
// task can do. Only CAP_NET_ADMIN may be added, which acts on the task's own network namespace
// (the PostgreSQL router writes its forwarding rules there), and only by a service that neither
// publishes a port nor bind-mounts anything from its node. Anything else (SYS_ADMIN, SYS_PTRACE,
// NET_RAW, ALL, …) is refused.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { publishedPorts, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type MountProps, type ServiceProps } from "../lib/types";
import { isObject, isUnknown, knownItems, knownString } from "../lib/values";

export const NAME = "capabilities-scoped";

const ALLOWED = new Set(["CAP_NET_ADMIN"]);
const capName = (c: string) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);

export function capabilitiesScoped(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "A service adds no Linux capability but CAP_NET_ADMIN, and then publishes no port and bind-mounts nothing from its node.",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            if (isUnknown(props.capAdd)) return;
            const caps = knownItems(props.capAdd).map(knownString).filter((c): c is string => c !== undefined).map(capName);
            if (!caps.length) return;
            const title = serviceTitle(props, args.name);
            const refused = caps.filter((c) => !ALLOWED.has(c));
            if (refused.length) {
                report(`${title} adds the capabilities ${refused.join(", ")}: only CAP_NET_ADMIN (its own network namespace) may be added. Fix: remove them from capAdd; do what needs them outside the service.`);
                return;
            }
            const problems: string[] = [];
            if (publishedPorts(props).length) problems.push("it publishes ports; remove them (reach it over the swarm's networks)");
            if (!isUnknown(props.mounts)) {
                const binds = (knownItems(props.mounts).filter(isObject) as MountProps[]).filter((m) => m.type === "bind");
                if (binds.length) problems.push(`it bind-mounts ${binds.map((m) => String(m.source)).join(", ")} from its node; remove them`);
            }
            if (problems.length) report(`${title} adds CAP_NET_ADMIN: ${problems.join("; ")}.`);
        }),
    };
}
