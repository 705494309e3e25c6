// host-paths-read-only: a service that bind-mounts its node's system paths (/, /proc, /sys, /dev,
// /etc, /boot, /usr, /lib*, /var/lib/docker: a node exporter, a log collector) mounts them
// read-only, so a task cannot change its node. The Docker socket is docker-socket-scoped's; a
// service's own data belongs on a named volume or a bind mount of a data directory.
import type { EnforcementLevel, ResourceValidationPolicy } from "@pulumi/policy";
import { serviceTitle } from "../lib/conventions";
import { validateTypes } from "../lib/rule";
import { TYPES, type MountProps, type ServiceProps } from "../lib/types";
import { isObject, isUnknown, knownItems, knownString } from "../lib/values";

export const NAME = "host-paths-read-only";

/** The node's system paths, and everything under them. */
const SYSTEM = ["/proc", "/sys", "/dev", "/etc", "/boot", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/var/lib/docker", "/var/lib/containerd"];
const SOCKET = /^\/(var\/)?run\/docker\.sock$/;

/** The system path a bind source is, or is under (`/` only itself). */
export function systemPath(source: string): string | undefined {
    const p = source.replace(/\/+$/, "") || "/";
    if (p === "/") return "/";
    return SYSTEM.find((s) => p === s || p.startsWith(`${s}/`));
}

export function hostPathsReadOnly(enforcementLevel: EnforcementLevel): ResourceValidationPolicy {
    return {
        name: NAME,
        description: "A bind mount of the node's system paths (/, /proc, /sys, /dev, /etc, /usr, /var/lib/docker…) is read-only.",
        enforcementLevel,
        severity: "high",
        validateResource: validateTypes<ServiceProps>([TYPES.service], (props, args, report) => {
            if (isUnknown(props.mounts)) return;
            const mounts = knownItems(props.mounts).filter(isObject) as MountProps[];
            for (const m of mounts) {
                const source = knownString(m.source);
                if (m.type !== "bind" || source === undefined || SOCKET.test(source) || isUnknown(m.readOnly) || m.readOnly === true) continue;
                const sys = systemPath(source);
                if (!sys) continue;
                report(
                    `${serviceTitle(props, args.name)} bind-mounts its node's ${source === sys ? sys : `${source} (under ${sys})`} writable at ${String(m.target)}: a task could change its node. ` +
                        `Fix: readOnly: true on that mount; keep a service's own data on a named volume or a bind mount of a data directory.`,
                );
            }
        }),
    };
}
