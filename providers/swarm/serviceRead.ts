// Reads the managed fields back from a live ServiceSpec, normalized as withDefaults() normalizes
// inputs: Swarm's defaults where the spec leaves a field out, the image digest Swarm pins removed,
// network IDs shown as the names they were asked by. Everything the resource does not manage
// (Runtime, Isolation, ForceUpdate, Platforms the CLI adds, …) is ignored.
import type { DockerServiceSpec, DockerUpdateConfig, DockerResources } from "./serviceDocker";
import type { MountSpec, NetworkAttachment, PortSpec, PublishMode, ResourceSpec, ServiceFields, ServiceMode, UpdatePolicy } from "./serviceSpec";
import { formatDuration } from "./serviceUnits";
import { nonEmpty, nonEmptyMap, stripUndefined } from "./common";
import { normalizeMount, zeroless } from "./serviceNormalize";

/** Removes the digest Swarm pins (`image:tag@sha256:…`) unless the wanted image names one itself. */
export function normalizeImage(live: string, wanted?: string): string {
    if (wanted && wanted.includes("@")) return live;
    const at = live.indexOf("@");
    return at >= 0 ? live.slice(0, at) : live;
}

const dur = (n: number | undefined, missing?: string) => (n === undefined || n === null ? missing : formatDuration(n));
const defined = stripUndefined;

function modeOf(m: DockerServiceSpec["Mode"]): ServiceMode {
    if (m.Global) return "global";
    if (m.ReplicatedJob) return "replicated-job";
    if (m.GlobalJob) return "global-job";
    return "replicated";
}

/** Swarm's policy where the spec has none or leaves fields out (swarmkit's defaults). */
function policyOf(p: DockerUpdateConfig | undefined): UpdatePolicy {
    return {
        parallelism: p ? (p.Parallelism ?? 0) : 1,
        delay: dur(p?.Delay, "0s"),
        failureAction: (p?.FailureAction || "pause") as UpdatePolicy["failureAction"],
        monitor: dur(p?.Monitor || undefined, "5s"),
        maxFailureRatio: p?.MaxFailureRatio ?? 0,
        order: (p?.Order || "stop-first") as UpdatePolicy["order"],
    };
}

function resourcesOf(r: DockerResources | undefined): ResourceSpec | undefined {
    if (!r) return undefined;
    const out = defined({ cpus: r.NanoCPUs ? r.NanoCPUs / 1e9 : undefined, memory: r.MemoryBytes || undefined });
    return Object.keys(out).length ? out : undefined;
}

function envOf(env: string[] | undefined): Record<string, string> | undefined {
    if (!env?.length) return undefined;
    return Object.fromEntries(env.map((e) => (e.includes("=") ? [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)] : [e, ""])));
}

function mountsOf(mounts: DockerServiceSpec["TaskTemplate"]["ContainerSpec"]["Mounts"]): MountSpec[] | undefined {
    return nonEmpty(
        mounts?.map((m) =>
            normalizeMount({
                type: m.Type as MountSpec["type"],
                source: m.Source,
                target: m.Target,
                readOnly: m.ReadOnly,
                volume: m.VolumeOptions && {
                    noCopy: m.VolumeOptions.NoCopy,
                    labels: m.VolumeOptions.Labels,
                    driver: m.VolumeOptions.DriverConfig?.Name || undefined,
                    driverOptions: m.VolumeOptions.DriverConfig?.Options,
                },
                bind: m.BindOptions?.Propagation ? { propagation: m.BindOptions.Propagation as NonNullable<MountSpec["bind"]>["propagation"] } : undefined,
                tmpfs: m.TmpfsOptions && { size: m.TmpfsOptions.SizeBytes, mode: m.TmpfsOptions.Mode },
            }),
        ),
    );
}

/**
 * Shows each live network as it was asked for: Swarm stores IDs, so a network asked by name reads
 * back as that name when `networkNames` (live ID → name) says they are the same network.
 */
function networksOf(live: DockerServiceSpec["TaskTemplate"]["Networks"], wanted: ServiceFields["networks"], networkNames: Record<string, string>): NetworkAttachment[] | undefined {
    const asked = (wanted ?? []).map((n) => (typeof n === "string" ? n : n.target));
    return nonEmpty(
        live?.map((n) => {
            const name = networkNames[n.Target];
            const target = asked.includes(n.Target) ? n.Target : name && asked.includes(name) ? name : n.Target;
            return defined({ target, aliases: nonEmpty(n.Aliases) });
        }),
    );
}

/**
 * Reads the managed fields back from a live spec. `wanted` (the last known inputs) tells how the
 * image and the networks were named; `networkNames` maps live network IDs to their names.
 */
export function fieldsFromSpec(spec: DockerServiceSpec, wanted?: Partial<ServiceFields>, networkNames: Record<string, string> = {}): ServiceFields {
    const t = spec.TaskTemplate;
    const c = t.ContainerSpec;
    const mode = modeOf(spec.Mode);
    const job = mode === "replicated-job" || mode === "global-job";
    const hc = c.Healthcheck;
    const rp = t.RestartPolicy;
    const limits = resourcesOf(t.Resources?.Limits);
    const reservations = resourcesOf(t.Resources?.Reservations);
    const file = (x: { File: { Name: string; UID: string; GID: string; Mode: number } }) => ({ target: x.File.Name, uid: x.File.UID, gid: x.File.GID, mode: x.File.Mode });
    return defined({
        name: spec.Name,
        image: normalizeImage(c.Image, wanted?.image),
        mode,
        replicas: mode === "replicated" ? (spec.Mode.Replicated?.Replicas ?? 0) : mode === "replicated-job" ? (spec.Mode.ReplicatedJob?.TotalCompletions ?? 1) : undefined,
        maxConcurrent: mode === "replicated-job" ? (spec.Mode.ReplicatedJob?.MaxConcurrent ?? 1) : undefined,
        command: nonEmpty(c.Command),
        args: nonEmpty(c.Args),
        env: envOf(c.Env),
        user: c.User || undefined,
        workdir: c.Dir || undefined,
        secrets: nonEmpty(c.Secrets?.map((x) => ({ secretId: x.SecretID, secretName: x.SecretName, ...file(x) }))),
        configs: nonEmpty(c.Configs?.map((x) => ({ configId: x.ConfigID, configName: x.ConfigName, ...file(x) }))),
        mounts: mountsOf(c.Mounts),
        networks: networksOf(t.Networks, wanted?.networks, networkNames),
        constraints: nonEmpty(t.Placement?.Constraints),
        preferences: nonEmpty(t.Placement?.Preferences?.map((p) => p.Spread.SpreadDescriptor)),
        maxReplicasPerNode: t.Placement?.MaxReplicas || undefined,
        resources: limits || reservations ? defined({ limits, reservations }) : undefined,
        restartPolicy: {
            condition: (rp?.Condition || "any") as "any",
            delay: dur(rp?.Delay, "5s"),
            maxAttempts: rp?.MaxAttempts ?? 0,
            window: dur(rp?.Window, "0s"),
        },
        updateConfig: job ? undefined : policyOf(spec.UpdateConfig),
        rollbackConfig: job ? undefined : policyOf(spec.RollbackConfig),
        healthcheck: hc?.Test?.length
            ? defined({
                  test: hc.Test,
                  interval: zeroless(dur(hc.Interval)),
                  timeout: zeroless(dur(hc.Timeout)),
                  startPeriod: zeroless(dur(hc.StartPeriod)),
                  retries: hc.Retries || undefined,
              })
            : undefined,
        endpointMode: spec.EndpointSpec?.Mode ?? "vip",
        ports: nonEmpty(
            spec.EndpointSpec?.Ports?.map(
                (p): PortSpec => ({
                    target: p.TargetPort,
                    published: p.PublishedPort ?? 0,
                    protocol: (p.Protocol ?? "tcp") as "tcp" | "udp",
                    mode: (p.PublishMode ?? "ingress") as PublishMode,
                }),
            ),
        ),
        labels: nonEmptyMap(spec.Labels),
        logDriver: t.LogDriver?.Name ? defined({ name: t.LogDriver.Name, options: nonEmptyMap(t.LogDriver.Options) }) : undefined,
        stopGracePeriod: dur(c.StopGracePeriod),
        dnsOptions: nonEmpty(c.DNSConfig?.Options),
        capAdd: nonEmpty(c.CapabilityAdd),
        sysctls: nonEmptyMap(c.Sysctls),
    }) as ServiceFields;
}
