// Pure functions between our Service inputs and the Docker Engine's ServiceSpec: render the
// spec to send, and read back the managed fields of a live spec, normalized so that an unchanged
// service shows no diff and a change made by hand shows exactly that change.

export type EndpointMode = "vip" | "dnsrr";
export type PublishMode = "ingress" | "host";

export interface PortSpec {
    /** Port inside the container. */
    target: number;
    /** Port published on the node (host mode) or the swarm (ingress). */
    published: number;
    protocol?: "tcp" | "udp";
    /** @default - ingress */
    mode?: PublishMode;
}

/** The managed fields of a replicated service. */
export interface ServiceFields {
    name: string;
    image: string;
    replicas: number;
    command?: string[];
    args?: string[];
    env?: Record<string, string>;
    labels?: Record<string, string>;
    /** IDs (or names) of the networks the tasks attach to. */
    networks?: string[];
    /** @default - vip */
    endpointMode?: EndpointMode;
    ports?: PortSpec[];
    /** Placement constraints, e.g. "node.role==worker". */
    constraints?: string[];
}

/** Docker's ServiceSpec, as much of it as we render. */
export interface DockerServiceSpec {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate: {
        ContainerSpec: { Image: string; Command?: string[]; Args?: string[]; Env?: string[] };
        Networks?: { Target: string }[];
        Placement?: { Constraints?: string[] };
        ForceUpdate?: number;
    };
    Mode: { Replicated?: { Replicas: number }; Global?: Record<string, never> };
    EndpointSpec?: {
        Mode?: EndpointMode;
        Ports?: { Protocol?: string; TargetPort: number; PublishedPort?: number; PublishMode?: PublishMode }[];
    };
}

export function renderServiceSpec(f: ServiceFields): DockerServiceSpec {
    const env = f.env ? Object.entries(f.env).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`) : undefined;
    return {
        Name: f.name,
        Labels: f.labels ?? {},
        TaskTemplate: {
            ContainerSpec: {
                Image: f.image,
                ...(f.command?.length ? { Command: f.command } : {}),
                ...(f.args?.length ? { Args: f.args } : {}),
                ...(env?.length ? { Env: env } : {}),
            },
            ...(f.networks?.length ? { Networks: f.networks.map((n) => ({ Target: n })) } : {}),
            ...(f.constraints?.length ? { Placement: { Constraints: f.constraints } } : {}),
        },
        Mode: { Replicated: { Replicas: f.replicas } },
        EndpointSpec: {
            Mode: f.endpointMode ?? "vip",
            ...(f.ports?.length
                ? {
                      Ports: f.ports.map((p) => ({
                          Protocol: p.protocol ?? "tcp",
                          TargetPort: p.target,
                          PublishedPort: p.published,
                          PublishMode: p.mode ?? "ingress",
                      })),
                  }
                : {}),
        },
    };
}

/** Removes the digest Swarm pins (`image:tag@sha256:…`) unless the wanted image names one itself. */
export function normalizeImage(live: string, wanted?: string): string {
    if (wanted && wanted.includes("@")) return live;
    const at = live.indexOf("@");
    return at >= 0 ? live.slice(0, at) : live;
}

/**
 * Reads the managed fields back from a live spec. `wanted` (the last known inputs) tells which
 * defaults the engine filled in and should not show as drift.
 */
export function fieldsFromSpec(spec: DockerServiceSpec, wanted?: Partial<ServiceFields>): ServiceFields {
    const c = spec.TaskTemplate.ContainerSpec;
    const env = c.Env?.length
        ? Object.fromEntries(c.Env.map((e) => [e.slice(0, e.indexOf("=") < 0 ? e.length : e.indexOf("=")), e.includes("=") ? e.slice(e.indexOf("=") + 1) : ""]))
        : undefined;
    const ports = spec.EndpointSpec?.Ports?.map((p) => ({
        target: p.TargetPort,
        published: p.PublishedPort ?? 0,
        protocol: (p.Protocol ?? "tcp") as "tcp" | "udp",
        mode: (p.PublishMode ?? "ingress") as PublishMode,
    }));
    return {
        name: spec.Name,
        image: normalizeImage(c.Image, wanted?.image),
        replicas: spec.Mode.Replicated?.Replicas ?? 0,
        ...(c.Command?.length ? { command: c.Command } : {}),
        ...(c.Args?.length ? { args: c.Args } : {}),
        ...(env ? { env } : {}),
        ...(spec.Labels && Object.keys(spec.Labels).length ? { labels: spec.Labels } : {}),
        ...(spec.TaskTemplate.Networks?.length ? { networks: spec.TaskTemplate.Networks.map((n) => n.Target) } : {}),
        endpointMode: spec.EndpointSpec?.Mode ?? "vip",
        ...(ports?.length ? { ports } : {}),
        ...(spec.TaskTemplate.Placement?.Constraints?.length ? { constraints: spec.TaskTemplate.Placement.Constraints } : {}),
    };
}

/** Fields whose change needs a new service; everything else Swarm updates in place. */
export const SERVICE_REPLACE_FIELDS: (keyof ServiceFields)[] = ["name"];
export const SERVICE_UPDATE_FIELDS: (keyof ServiceFields)[] = [
    "image",
    "replicas",
    "command",
    "args",
    "env",
    "labels",
    "networks",
    "endpointMode",
    "ports",
    "constraints",
];

/** Defaults applied to inputs before they are compared with what `fieldsFromSpec` reads. */
export function withDefaults(f: ServiceFields): ServiceFields {
    return {
        ...f,
        endpointMode: f.endpointMode ?? "vip",
        ports: f.ports?.map((p) => ({ protocol: "tcp", mode: "ingress", ...p })),
    };
}
