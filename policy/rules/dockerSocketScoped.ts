// docker-socket-scoped: a service that mounts the Docker socket holds root on its node (the API can
// start a privileged container). Only a service declared for it may mount it, with no published
// port and no network (nothing can reach it, and it reaches nothing but its own daemon):
// - swarm-etl.docker-api=manager (e.g. the scheduler, which drives Swarm): on managers only;
// - swarm-etl.docker-api=read-only-proxy (the observability stack's socket proxy, which passes only
//   GETs on to the daemon): on any node, and it hands its filtered socket on through a volume only.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { LABELS, publishedPorts, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type MountProps, type ServiceProps } from "../lib/types";
import { isObject, isUnknown, knownItems, knownString } from "../lib/values";

export const NAME = "docker-socket-scoped";

/** The daemon's socket, however the path is spelled. */
const SOCKET = /^\/(var\/)?run\/docker\.sock$/;

export function dockerSocketScoped(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Only a service labelled swarm-etl.docker-api=manager (on managers only) or =read-only-proxy (handing its socket on through a volume) mounts the Docker socket, with no port and no network.",
        enforcementLevel,
        severity: "critical",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            if (isUnknown(props.mounts)) return;
            const mounts = knownItems(props.mounts).filter(isObject) as MountProps[];
            const socket = mounts.find((m) => m.type === "bind" && SOCKET.test(knownString(m.source) ?? ""));
            if (!socket) return;
            const title = serviceTitle(props, args.name);
            const risk = `${title} mounts the Docker socket (${String(socket.source)}): whoever controls it is root on that node`;
            const labels = isObject(props.labels) ? props.labels : {};
            if (isUnknown(labels[LABELS.dockerApi])) return;
            const declared = labels[LABELS.dockerApi];
            if (declared !== "manager" && declared !== "read-only-proxy") {
                report(
                    `${risk}, and it is not declared for that. Fix: do not mount the socket (talk to what you need over the swarm's networks); ` +
                        `if the service must drive Swarm (a scheduler), label it ${LABELS.dockerApi}=manager and pin it to managers; ` +
                        `if it is a read-only API proxy, label it ${LABELS.dockerApi}=read-only-proxy and hand its socket on through a volume.`,
                );
                return;
            }
            const problems: string[] = [];
            if (declared === "read-only-proxy") {
                if (!mounts.some((m) => m.type === "volume")) problems.push("as a read-only proxy it hands its socket on through no volume; mount one for its filtered socket");
            } else if (!isUnknown(props.constraints)) {
                const constraints = knownItems(props.constraints).map(knownString);
                if (!constraints.some((c) => c !== undefined && /^\s*node\.role\s*==\s*manager\s*$/.test(c))) problems.push(`it is not pinned to managers (constraints: ${JSON.stringify(constraints)}); add constraints: ["node.role==manager"]`);
            }
            if (publishedPorts(props).length) problems.push("it publishes ports; remove them");
            if (!isUnknown(props.networks) && knownItems(props.networks).length) problems.push("it is attached to networks; remove them (it needs only its daemon)");
            if (problems.length) report(`${risk}: ${problems.join("; ")}.`);
        }),
    };
}
