// Validation of the Service inputs (check()): each failure names the property, the value and the
// fix. Values the engine does not know yet (preview of a resource that depends on another) pass.
import { isJob, SERVICE_MODES, ServiceFields, UpdatePolicy } from "./serviceSpec";
import { byteSize, Duration, durationNs, UNKNOWN } from "./serviceUnits";

export interface Failure {
    property: string;
    reason: string;
}

const known = (v: unknown) => v !== undefined && v !== null && v !== UNKNOWN;
const NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,62})$/;

export function validateService(f: Partial<ServiceFields>): Failure[] {
    const out: Failure[] = [];
    const fail = (property: string, reason: string) => out.push({ property, reason });
    const duration = (property: string, d: Duration | undefined) => {
        if (!known(d)) return undefined;
        try {
            return durationNs(d!);
        } catch (e) {
            fail(property, (e as Error).message);
            return undefined;
        }
    };
    const bytes = (property: string, b: string | number | undefined) => {
        if (!known(b)) return;
        try {
            byteSize(b!);
        } catch (e) {
            fail(property, (e as Error).message);
        }
    };
    const whole = (property: string, n: unknown, min: number) => {
        if (known(n) && (!Number.isInteger(n) || (n as number) < min)) fail(property, `${property} must be a whole number ≥ ${min}, got ${JSON.stringify(n)}`);
    };

    if (known(f.name) && !NAME.test(f.name!)) {
        fail("name", `service name "${f.name}" is not valid: use 1-63 letters, digits, "-", "_" or ".", starting with a letter or digit`);
    }
    if (!known(f.image)) {
        if (f.image === undefined || f.image === "") fail("image", `image is required, e.g. "registry:5000/team/app:1.2"`);
    } else if (/\s/.test(f.image!) || !f.image) fail("image", `"${f.image}" is not an image reference`);

    const mode = f.mode ?? "replicated";
    if (known(f.mode) && !SERVICE_MODES.includes(mode)) fail("mode", `mode "${f.mode}" is not one of ${SERVICE_MODES.join(", ")}`);
    const counted = mode === "replicated" || mode === "replicated-job";
    if (!counted && known(f.replicas)) fail("replicas", `replicas does not apply to mode ${mode} (one task per eligible node); remove it or use mode replicated`);
    if (counted) whole("replicas", f.replicas, mode === "replicated-job" ? 1 : 0);
    if (known(f.maxConcurrent) && mode !== "replicated-job") fail("maxConcurrent", `maxConcurrent applies to mode replicated-job only, not ${mode}`);
    whole("maxConcurrent", f.maxConcurrent, 1);
    if (known(f.maxReplicasPerNode) && (mode === "global" || mode === "global-job")) fail("maxReplicasPerNode", `maxReplicasPerNode does not apply to mode ${mode}`);
    whole("maxReplicasPerNode", f.maxReplicasPerNode, 0);

    if (isJob(mode)) {
        for (const k of ["updateConfig", "rollbackConfig"] as const) {
            if (known(f[k])) fail(k, `${k} does not apply to jobs (Swarm refuses it: "Jobs may not have an update config"); remove it for mode ${mode}`);
        }
    }
    for (const k of ["updateConfig", "rollbackConfig"] as const) {
        const p = f[k] as UpdatePolicy | undefined;
        if (!known(p)) continue;
        duration(`${k}.delay`, p!.delay);
        if (duration(`${k}.monitor`, p!.monitor) === 0) fail(`${k}.monitor`, `${k}.monitor 0 means Swarm's default (5s); give a duration of at least 1ms`);
        whole(`${k}.parallelism`, p!.parallelism, 0);
        if (known(p!.maxFailureRatio) && !(p!.maxFailureRatio! >= 0 && p!.maxFailureRatio! <= 1)) fail(`${k}.maxFailureRatio`, `${k}.maxFailureRatio must be between 0 and 1, got ${p!.maxFailureRatio}`);
        if (known(p!.failureAction) && !["pause", "continue", "rollback"].includes(p!.failureAction!)) fail(`${k}.failureAction`, `${k}.failureAction "${p!.failureAction}" is not one of pause, continue, rollback`);
        if (known(p!.order) && !["stop-first", "start-first"].includes(p!.order!)) fail(`${k}.order`, `${k}.order "${p!.order}" is not one of stop-first, start-first`);
    }

    const rp = f.restartPolicy;
    if (known(rp)) {
        if (known(rp!.condition) && !["none", "on-failure", "any"].includes(rp!.condition!)) fail("restartPolicy.condition", `restartPolicy.condition "${rp!.condition}" is not one of none, on-failure, any`);
        duration("restartPolicy.delay", rp!.delay);
        duration("restartPolicy.window", rp!.window);
        whole("restartPolicy.maxAttempts", rp!.maxAttempts, 0);
    }
    duration("stopGracePeriod", f.stopGracePeriod);

    const hc = f.healthcheck;
    if (known(hc)) {
        const test = hc!.test;
        if (known(test) && (Array.isArray(test) ? !["CMD", "CMD-SHELL", "NONE"].includes(test[0]) : !test)) {
            fail("healthcheck.test", `healthcheck.test ${JSON.stringify(test)} is not valid: give a shell command, or an array starting with "CMD", "CMD-SHELL" or "NONE"`);
        }
        for (const k of ["interval", "timeout", "startPeriod"] as const) duration(`healthcheck.${k}`, hc![k]);
        whole("healthcheck.retries", hc!.retries, 0);
    }

    for (const [kind, limits] of Object.entries(f.resources ?? {})) {
        if (!known(limits)) continue;
        bytes(`resources.${kind}.memory`, limits!.memory);
        if (known(limits!.cpus) && !(typeof limits!.cpus === "number" && limits!.cpus >= 0)) fail(`resources.${kind}.cpus`, `resources.${kind}.cpus must be a number of CPUs ≥ 0, got ${JSON.stringify(limits!.cpus)}`);
    }

    (f.mounts ?? []).forEach((m, i) => {
        if (!known(m)) return;
        const p = `mounts[${i}]`;
        if (known(m.type) && !["volume", "bind", "tmpfs"].includes(m.type)) fail(`${p}.type`, `${p}.type "${m.type}" is not one of volume, bind, tmpfs`);
        if (known(m.target) && !m.target.startsWith("/")) fail(`${p}.target`, `${p}.target "${m.target}" must be an absolute path in the container`);
        if (m.type === "tmpfs" && known(m.source)) fail(`${p}.source`, `${p}: a tmpfs mount has no source (got "${m.source}"); remove it`);
        if (m.type === "bind" && known(m.source) && !m.source!.startsWith("/")) fail(`${p}.source`, `${p}.source "${m.source}" must be an absolute path on the node for a bind mount`);
        if (m.type === "bind" && !m.source) fail(`${p}.source`, `${p}: a bind mount needs source, an absolute path on the node`);
        if (m.tmpfs && m.type !== "tmpfs") fail(`${p}.tmpfs`, `${p}: tmpfs options apply to type tmpfs only, not ${m.type}`);
        if (m.volume && m.type !== "volume") fail(`${p}.volume`, `${p}: volume options apply to type volume only, not ${m.type}`);
        if (m.bind && m.type !== "bind") fail(`${p}.bind`, `${p}: bind options apply to type bind only, not ${m.type}`);
        bytes(`${p}.tmpfs.size`, m.tmpfs?.size);
    });

    const endpointMode = f.endpointMode ?? "vip";
    if (known(f.endpointMode) && !["vip", "dnsrr"].includes(endpointMode)) fail("endpointMode", `endpointMode "${f.endpointMode}" is not one of vip, dnsrr`);
    (f.ports ?? []).forEach((p, i) => {
        if (!known(p)) return;
        if (endpointMode === "dnsrr" && (p.mode ?? "ingress") === "ingress") {
            fail(`ports[${i}]`, `port ${p.published}->${p.target} is published in ingress mode, which Swarm refuses with endpointMode dnsrr; set mode: "host" or use endpointMode vip`);
        }
        if (known(p.mode) && !["ingress", "host"].includes(p.mode!)) fail(`ports[${i}].mode`, `ports[${i}].mode "${p.mode}" is not one of ingress, host`);
    });

    for (const k of ["secrets", "configs"] as const) {
        (f[k] ?? []).forEach((x, i) => {
            if (known(x) && known(x.target) && !x.target) fail(`${k}[${i}].target`, `${k}[${i}].target must name the file in the container`);
        });
    }
    return out;
}
