// Pure functions between our Service inputs and the Docker Engine's ServiceSpec: normalize the
// inputs (withDefaults: every default made explicit, units in one canonical form) and render the
// spec to send. Reading a live spec back is serviceRead.ts; the two meet in normalized fields, so
// an unchanged service shows no diff and a change made by hand shows exactly that change.
import { changedKeys, nonEmpty, nonEmptyMap, stripUndefined } from "./common";
import { normalizeMount, zeroless } from "./serviceNormalize";
import type { DockerServiceSpec, FileTarget } from "./serviceDocker";
import { ByteSize, byteSize, Duration, durationNs, normalizeBytes, normalizeDuration } from "./serviceUnits";

export type { DockerServiceSpec } from "./serviceDocker";
export { fieldsFromSpec, normalizeImage } from "./serviceRead";

export type EndpointMode = "vip" | "dnsrr";
export type PublishMode = "ingress" | "host";
/** Replicated and global run until stopped; the two job modes run to completion. */
export type ServiceMode = "replicated" | "global" | "replicated-job" | "global-job";
export const SERVICE_MODES: ServiceMode[] = ["replicated", "global", "replicated-job", "global-job"];

export interface PortSpec {
    /** Port inside the container. */
    target: number;
    /** Port published on the node (host mode) or the swarm (ingress). */
    published: number;
    protocol?: "tcp" | "udp";
    /** @default - ingress */
    mode?: PublishMode;
}

/** A network the tasks attach to, with extra DNS names on it. */
export interface NetworkAttachment {
    /** ID or name of the network. */
    target: string;
    aliases?: string[];
}

export interface MountSpec {
    type: "volume" | "bind" | "tmpfs";
    /** Volume name (anonymous volume when unset) or host path (bind); none for tmpfs. */
    source?: string;
    /** Absolute path in the container. */
    target: string;
    /** @default - false */
    readOnly?: boolean;
    volume?: { noCopy?: boolean; labels?: Record<string, string>; driver?: string; driverOptions?: Record<string, string> };
    bind?: { propagation?: "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" };
    tmpfs?: { size?: ByteSize; mode?: number };
}

export interface ResourceSpec {
    /** CPUs, e.g. 0.5. */
    cpus?: number;
    /** Bytes, or "64M". */
    memory?: ByteSize;
}

export interface RestartPolicy {
    /** @default - any (on-failure for jobs) */
    condition?: "none" | "on-failure" | "any";
    /** @default - 5s */
    delay?: Duration;
    /** 0 means unlimited. @default - 0 */
    maxAttempts?: number;
    /** @default - 0s */
    window?: Duration;
}

export interface UpdatePolicy {
    /** Tasks updated at once; 0 means all. @default - 1 */
    parallelism?: number;
    /** @default - 0s */
    delay?: Duration;
    /** @default - rollback (update), pause (rollback) */
    failureAction?: "pause" | "continue" | "rollback";
    /** How long each new task is watched for failure. @default - 5s */
    monitor?: Duration;
    /** @default - 0 */
    maxFailureRatio?: number;
    /** @default - stop-first */
    order?: "stop-first" | "start-first";
}

export interface Healthcheck {
    /** A shell command (run as CMD-SHELL), or the raw form ["CMD", ...], ["CMD-SHELL", cmd], ["NONE"]. */
    test: string | string[];
    interval?: Duration;
    timeout?: Duration;
    startPeriod?: Duration;
    retries?: number;
}

export interface FileRef {
    /** File name (secrets: under /run/secrets/ unless absolute) or path (configs). */
    target: string;
    /** @default - "0" */
    uid?: string;
    /** @default - "0" */
    gid?: string;
    /** @default - 0o444 */
    mode?: number;
}

/** The managed fields of a service. */
export interface ServiceFields {
    name: string;
    image: string;
    /** @default - replicated */
    mode?: ServiceMode;
    /** Tasks to run (replicated) or completions to reach (replicated-job). @default - 1 */
    replicas?: number;
    /** replicated-job: tasks run at once. @default - replicas */
    maxConcurrent?: number;
    command?: string[];
    args?: string[];
    env?: Record<string, string>;
    /** "user", "uid", "user:group" or "uid:gid". */
    user?: string;
    workdir?: string;
    /** Swarm secrets mounted as files (under /run/secrets/ unless `target` is absolute). */
    secrets?: { secretId: string; secretName: string; target: string; uid?: string; gid?: string; mode?: number }[];
    /** Swarm configs mounted as files (`target` is a path in the container). */
    configs?: { configId: string; configName: string; target: string; uid?: string; gid?: string; mode?: number }[];
    mounts?: MountSpec[];
    /** Networks the tasks attach to: IDs or names, or `{ target, aliases }`. */
    networks?: (string | NetworkAttachment)[];
    /** Placement constraints, e.g. "node.role==worker". */
    constraints?: string[];
    /** Placement preferences: spread descriptors, e.g. "node.labels.zone". */
    preferences?: string[];
    /** At most this many tasks of the service on one node. 0 means no limit. */
    maxReplicasPerNode?: number;
    resources?: { limits?: ResourceSpec; reservations?: ResourceSpec };
    restartPolicy?: RestartPolicy;
    /** Rolling updates; a failed update is rolled back by Swarm. Not for jobs. */
    updateConfig?: UpdatePolicy;
    /** How Swarm rolls back a failed update. Not for jobs. */
    rollbackConfig?: UpdatePolicy;
    healthcheck?: Healthcheck;
    /** @default - vip */
    endpointMode?: EndpointMode;
    ports?: PortSpec[];
    labels?: Record<string, string>;
    logDriver?: { name: string; options?: Record<string, string> };
    /** Time between SIGTERM and SIGKILL. @default - the daemon's (10s) */
    stopGracePeriod?: Duration;
    /** resolv.conf options of the tasks, e.g. ["timeout:1", "attempts:1"]. @default - none */
    dnsOptions?: string[];
    /** Linux capabilities added to the tasks' default set, e.g. ["CAP_NET_ADMIN"]. @default - none */
    capAdd?: string[];
    /** Namespaced kernel parameters of the tasks, e.g. { "net.ipv4.ip_forward": "1" }. @default - none */
    sysctls?: Record<string, string>;
}

/** A capability as the daemon stores it: upper case, with the CAP_ prefix ("net_admin" → "CAP_NET_ADMIN"). */
export const capName = (c: string) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);

export const isJob = (mode: ServiceMode | undefined) => mode === "replicated-job" || mode === "global-job";

/** Fields whose change needs a new service (Swarm cannot change a service's mode); everything else is updated in place. */
export const SERVICE_REPLACE_FIELDS: (keyof ServiceFields)[] = ["name", "mode"];
export const SERVICE_UPDATE_FIELDS: (keyof ServiceFields)[] = [
    "image",
    "replicas",
    "maxConcurrent",
    "command",
    "args",
    "env",
    "user",
    "workdir",
    "secrets",
    "configs",
    "mounts",
    "networks",
    "constraints",
    "preferences",
    "maxReplicasPerNode",
    "resources",
    "restartPolicy",
    "updateConfig",
    "rollbackConfig",
    "healthcheck",
    "endpointMode",
    "ports",
    "labels",
    "logDriver",
    "stopGracePeriod",
    "dnsOptions",
    "capAdd",
    "sysctls",
];
export const SERVICE_FIELDS: (keyof ServiceFields)[] = [...SERVICE_REPLACE_FIELDS, ...SERVICE_UPDATE_FIELDS];

const UPDATE_DEFAULTS: Required<UpdatePolicy> = { parallelism: 1, delay: "0s", failureAction: "rollback", monitor: "5s", maxFailureRatio: 0, order: "stop-first" };
const ROLLBACK_DEFAULTS: Required<UpdatePolicy> = { ...UPDATE_DEFAULTS, failureAction: "pause" };

function policy(p: UpdatePolicy | undefined, defaults: Required<UpdatePolicy>): UpdatePolicy {
    const v = { ...defaults, ...stripUndefined(p ?? {}) };
    return { ...v, delay: normalizeDuration(v.delay), monitor: normalizeDuration(v.monitor) };
}


function resourceSpec(r: ResourceSpec | undefined): ResourceSpec | undefined {
    if (!r) return undefined;
    const out = stripUndefined({ cpus: r.cpus || undefined, memory: normalizeBytes(r.memory) || undefined });
    return Object.keys(out).length ? out : undefined;
}


/**
 * The inputs with every default made explicit and every unit in canonical form: what
 * `fieldsFromSpec` reads back from the service that `renderServiceSpec` of it creates.
 */
export function withDefaults(f: ServiceFields): ServiceFields {
    const mode = f.mode ?? "replicated";
    const job = isJob(mode);
    const counted = mode === "replicated" || mode === "replicated-job";
    const hc = f.healthcheck;
    const rp = f.restartPolicy ?? {};
    const limits = resourceSpec(f.resources?.limits);
    const reservations = resourceSpec(f.resources?.reservations);
    return stripUndefined({
        ...f,
        mode,
        replicas: counted ? (f.replicas ?? 1) : undefined,
        maxConcurrent: mode === "replicated-job" ? (f.maxConcurrent ?? f.replicas ?? 1) : undefined,
        command: nonEmpty(f.command),
        args: nonEmpty(f.args),
        env: nonEmptyMap(f.env),
        user: f.user || undefined,
        workdir: f.workdir || undefined,
        secrets: nonEmpty(f.secrets?.map((x) => ({ uid: "0", gid: "0", mode: 0o444, ...stripUndefined(x) }))),
        configs: nonEmpty(f.configs?.map((x) => ({ uid: "0", gid: "0", mode: 0o444, ...stripUndefined(x) }))),
        mounts: nonEmpty(f.mounts?.map(normalizeMount)),
        networks: nonEmpty(f.networks?.map((n) => (typeof n === "string" ? { target: n } : stripUndefined({ target: n.target, aliases: nonEmpty(n.aliases) }) as NetworkAttachment))),
        constraints: nonEmpty(f.constraints),
        preferences: nonEmpty(f.preferences),
        maxReplicasPerNode: f.maxReplicasPerNode || undefined,
        resources: limits || reservations ? stripUndefined({ limits, reservations }) : undefined,
        restartPolicy: {
            condition: rp.condition ?? (job ? "on-failure" : "any"),
            delay: normalizeDuration(rp.delay ?? "5s"),
            maxAttempts: rp.maxAttempts ?? 0,
            window: normalizeDuration(rp.window ?? "0s"),
        },
        updateConfig: job ? undefined : policy(f.updateConfig, UPDATE_DEFAULTS),
        rollbackConfig: job ? undefined : policy(f.rollbackConfig, ROLLBACK_DEFAULTS),
        healthcheck: hc
            ? stripUndefined({
                  test: typeof hc.test === "string" ? ["CMD-SHELL", hc.test] : hc.test,
                  interval: zeroless(normalizeDuration(hc.interval)),
                  timeout: zeroless(normalizeDuration(hc.timeout)),
                  startPeriod: zeroless(normalizeDuration(hc.startPeriod)),
                  retries: hc.retries || undefined,
              }) as Healthcheck
            : undefined,
        endpointMode: f.endpointMode ?? "vip",
        ports: nonEmpty(f.ports?.map((p) => ({ protocol: "tcp", mode: "ingress", ...stripUndefined(p) }) as PortSpec)),
        labels: nonEmptyMap(f.labels),
        logDriver: f.logDriver ? stripUndefined({ name: f.logDriver.name, options: nonEmptyMap(f.logDriver.options) }) as ServiceFields["logDriver"] : undefined,
        stopGracePeriod: normalizeDuration(f.stopGracePeriod),
        dnsOptions: nonEmpty(f.dnsOptions),
        capAdd: nonEmpty(f.capAdd?.map(capName)),
        sysctls: nonEmptyMap(f.sysctls),
    }) as ServiceFields;
}

/** The managed fields of inputs or stored outputs (which carry other properties too), normalized. */
export function pickServiceFields(p: Partial<ServiceFields>): ServiceFields {
    const picked = Object.fromEntries(SERVICE_FIELDS.filter((k) => p[k] !== undefined && p[k] !== null).map((k) => [k, p[k]]));
    return withDefaults(picked as unknown as ServiceFields);
}

/** What a change from `olds` to `news` does: fields that need a new service, fields Swarm updates in place. */
export function diffServiceFields(olds: Partial<ServiceFields>, news: Partial<ServiceFields>): { replaces: (keyof ServiceFields)[]; updates: (keyof ServiceFields)[] } {
    const o = pickServiceFields(olds);
    const n = pickServiceFields(news);
    return { replaces: changedKeys(o, n, SERVICE_REPLACE_FIELDS), updates: changedKeys(o, n, SERVICE_UPDATE_FIELDS) };
}

const ns = (d: Duration | undefined) => (d === undefined ? undefined : durationNs(d));

function fileTarget(x: FileRef): FileTarget {
    return { Name: x.target, UID: x.uid ?? "0", GID: x.gid ?? "0", Mode: x.mode ?? 0o444 };
}

function renderPolicy(p: UpdatePolicy) {
    return stripUndefined({ Parallelism: p.parallelism, Delay: ns(p.delay) || undefined, FailureAction: p.failureAction, Monitor: ns(p.monitor), MaxFailureRatio: p.maxFailureRatio, Order: p.order });
}

function renderResources(r: ResourceSpec | undefined) {
    return r ? stripUndefined({ NanoCPUs: r.cpus ? Math.round(r.cpus * 1e9) : undefined, MemoryBytes: r.memory ? byteSize(r.memory) : undefined }) : undefined;
}

function renderMode(f: ServiceFields): DockerServiceSpec["Mode"] {
    switch (f.mode ?? "replicated") {
        case "global":
            return { Global: {} };
        case "replicated-job":
            return { ReplicatedJob: { MaxConcurrent: f.maxConcurrent ?? f.replicas ?? 1, TotalCompletions: f.replicas ?? 1 } };
        case "global-job":
            return { GlobalJob: {} };
        default:
            return { Replicated: { Replicas: f.replicas ?? 1 } };
    }
}

/** The Docker ServiceSpec of the fields (normalized first, so every default is sent explicitly). */
export function renderServiceSpec(fields: ServiceFields): DockerServiceSpec {
    const f = withDefaults(fields);
    const env = f.env ? Object.entries(f.env).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`) : undefined;
    const hc = f.healthcheck;
    const rp = f.restartPolicy!;
    const placement = stripUndefined({
        Constraints: f.constraints,
        Preferences: f.preferences?.map((p) => ({ Spread: { SpreadDescriptor: p } })),
        MaxReplicas: f.maxReplicasPerNode,
    });
    const resources = stripUndefined({ Limits: renderResources(f.resources?.limits), Reservations: renderResources(f.resources?.reservations) });
    return stripUndefined({
        Name: f.name,
        Labels: f.labels ?? {},
        TaskTemplate: stripUndefined({
            ContainerSpec: stripUndefined({
                Image: f.image,
                Command: f.command,
                Args: f.args,
                Env: env,
                User: f.user,
                Dir: f.workdir,
                Mounts: f.mounts?.map((m) =>
                    stripUndefined({
                        Type: m.type,
                        Source: m.source,
                        Target: m.target,
                        ReadOnly: m.readOnly || undefined,
                        VolumeOptions: m.volume
                            ? stripUndefined({
                                  NoCopy: m.volume.noCopy,
                                  Labels: m.volume.labels,
                                  DriverConfig: m.volume.driver || m.volume.driverOptions ? stripUndefined({ Name: m.volume.driver, Options: m.volume.driverOptions }) : undefined,
                              })
                            : undefined,
                        BindOptions: m.bind?.propagation ? { Propagation: m.bind.propagation } : undefined,
                        TmpfsOptions: m.tmpfs ? stripUndefined({ SizeBytes: m.tmpfs.size as number | undefined, Mode: m.tmpfs.mode }) : undefined,
                    }),
                ),
                StopGracePeriod: ns(f.stopGracePeriod),
                DNSConfig: f.dnsOptions?.length ? { Options: f.dnsOptions } : undefined,
                CapabilityAdd: f.capAdd?.length ? f.capAdd : undefined,
                Sysctls: f.sysctls && Object.keys(f.sysctls).length ? f.sysctls : undefined,
                Healthcheck: hc
                    ? stripUndefined({ Test: hc.test as string[], Interval: ns(hc.interval), Timeout: ns(hc.timeout), StartPeriod: ns(hc.startPeriod), Retries: hc.retries })
                    : undefined,
                Secrets: f.secrets?.map((x) => ({ SecretID: x.secretId, SecretName: x.secretName, File: fileTarget(x) })),
                Configs: f.configs?.map((x) => ({ ConfigID: x.configId, ConfigName: x.configName, File: fileTarget(x) })),
            }) as DockerServiceSpec["TaskTemplate"]["ContainerSpec"],
            Resources: Object.keys(resources).length ? resources : undefined,
            RestartPolicy: stripUndefined({ Condition: rp.condition!, Delay: ns(rp.delay)!, MaxAttempts: rp.maxAttempts!, Window: ns(rp.window) || undefined }),
            Placement: Object.keys(placement).length ? placement : undefined,
            Networks: f.networks?.map((n) => (typeof n === "string" ? { Target: n } : stripUndefined({ Target: n.target, Aliases: n.aliases }))),
            LogDriver: f.logDriver ? stripUndefined({ Name: f.logDriver.name, Options: f.logDriver.options }) : undefined,
        }) as DockerServiceSpec["TaskTemplate"],
        Mode: renderMode(f),
        UpdateConfig: f.updateConfig ? renderPolicy(f.updateConfig) : undefined,
        RollbackConfig: f.rollbackConfig ? renderPolicy(f.rollbackConfig) : undefined,
        EndpointSpec: {
            Mode: f.endpointMode ?? "vip",
            ...(f.ports?.length
                ? { Ports: f.ports.map((p) => ({ Protocol: p.protocol ?? "tcp", TargetPort: p.target, PublishedPort: p.published, PublishMode: p.mode ?? "ingress" })) }
                : {}),
        },
    }) as DockerServiceSpec;
}
