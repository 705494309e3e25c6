// stateful-pinned-with-volume: a stateful service is pinned to labelled nodes (a placement
// constraint on a node label) and keeps its data on a named volume or a bind mount.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { isLongRunningMode, isStateful, LABELS, serviceMode, serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type MountProps, type ServiceProps } from "../lib/types";
import { hasUnknown, isObject, isUnknown, knownItems, knownString } from "../lib/values";

export const NAME = "stateful-pinned-with-volume";

/** `node.labels.<key>==<value>` (spaces allowed around ==). */
const LABEL_CONSTRAINT = /^\s*node\.labels\.[^\s=!]+\s*==\s*\S+/;

export function statefulPinnedWithVolume(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "Stateful services are pinned to labelled nodes (node.labels.<key>==<value>) and keep data on a named volume or bind mount.",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            if (isStateful(props) !== true) return; // stateless, or not known yet
            const mode = serviceMode(props);
            if (!mode || !isLongRunningMode(mode)) return;
            const title = serviceTitle(props, args.name);
            const how = `(label ${LABELS.stateful}=true, ${LABELS.database}=true or a database image)`;

            if (!isUnknown(props.constraints) && !hasUnknown(props.constraints)) {
                const constraints = knownItems(props.constraints).map(knownString).filter((c): c is string => !!c);
                if (!constraints.some((c) => LABEL_CONSTRAINT.test(c))) {
                    report(
                        `${title} is stateful ${how} but is not pinned to labelled nodes (constraints: ${JSON.stringify(constraints)}): Swarm may ` +
                            `reschedule it on any node, where its data is not, and it starts empty or fails. ` +
                            `Fix: label the nodes that hold its data (swarm-etl:managers[]/workers[].labels, e.g. etl.storage: postgres) and add ` +
                            `constraints: ["node.labels.etl.storage==postgres"]. A node.hostname constraint alone ties it to a host name, not to a role the node was given.`,
                    );
                }
            }
            if (!isUnknown(props.mounts)) {
                const mounts = knownItems(props.mounts).filter(isObject) as MountProps[];
                const persistent = mounts.some((m) => isUnknown(m.source) || ((m.type === "volume" || m.type === "bind") && !!knownString(m.source)));
                if (!persistent && !knownItems(props.mounts).some(isUnknown)) {
                    report(
                        `${title} is stateful ${how} but has no named volume or bind mount (mounts: ${mounts.map((m) => `${String(m.type)}:${knownString(m.source) ?? "anonymous"}`).join(", ") || "none"}): ` +
                            `its data lives in the task's writable layer or an anonymous volume and is lost when the task is replaced. ` +
                            `Fix: create a Volume on the pinned node and mount it: mounts: [{ type: "volume", source: "<volume name>", target: "<data dir>" }].`,
                    );
                }
            }
        }),
    };
}
