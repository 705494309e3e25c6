// The stack configuration of swarm-etl: one schema (zod) that validates the whole `swarm-etl:*`
// namespace before any resource is declared. Every error names the key, the value and the fix,
// and all errors are reported at once.
import { z } from "zod";

export const PROJECT = "swarm-etl";

const HOST_KEY_RE = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}$/;
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const hostKey = z.string().regex(HOST_KEY_RE, {
    message: "is not an SSH public host key; fix: use the key type and base64 blob, e.g. the output of `ssh-keyscan -t ed25519 <host>` without the host name",
});
const hostName = z.string().regex(NAME_RE, {
    message: "is not a valid host name; fix: lower-case letters, digits and '-', 1-63 characters",
});
const ipv4 = z.ipv4({ message: "is not an IPv4 address; fix: write a dotted-quad address such as 10.0.1.11" });
const port = z.number().int().min(1).max(65535).default(22);

const bastionSchema = z.strictObject({
    /** Name used in logs and SSH config. */
    name: hostName.default("bastion"),
    /** Address the operator (and CI) reaches the bastion on. */
    publicAddress: ipv4,
    /** Address of the bastion on the private network, if it has one. */
    privateAddress: ipv4.optional(),
    port,
    /** SSH user on the bastion. @default - `sshUser` */
    user: z.string().min(1).optional(),
    hostKey,
});

const managerSchema = z.strictObject({
    name: hostName,
    /** Address published ports are reached on (managers may have one). */
    publicAddress: ipv4.optional(),
    /** Address on the private network: SSH (through the bastion) and all Swarm traffic use it. */
    privateAddress: ipv4,
    port,
    hostKey,
});

const workerSchema = z.strictObject({
    name: hostName,
    privateAddress: ipv4,
    port,
    hostKey,
});

const demoSchema = z.strictObject({
    /** Deploy the demo stack (an overlay network and a replicated web service). @default - true */
    enabled: z.boolean().default(true),
    /** Image of the demo web service; it must provide busybox `httpd`. */
    image: z.string().min(1).optional(),
    /** Replicas of the demo web service. @default - 2 */
    replicas: z.number().int().min(0).max(100).default(2),
});

export const stackConfigSchema = z
    .strictObject({
        /** lab: the embedded lab (dnsrr, host-mode ports, no overlay encryption); dev and prod: real clusters. */
        profile: z.enum(["lab", "dev", "prod"]),
        /** SSH user on the managers and workers. @default - root */
        sshUser: z.string().min(1).default("root"),
        /** The SSH private key (secure value: `pulumi config set --secret sshPrivateKey < key`). */
        sshPrivateKey: z.string().min(1).optional(),
        /** Path of the SSH private key on the machine that runs Pulumi (the lab uses this). */
        sshPrivateKeyPath: z.string().min(1).optional(),
        bastion: bastionSchema,
        managers: z.array(managerSchema).min(1, { message: "needs at least one manager; fix: list 1, 3 or 5 managers" }),
        workers: z.array(workerSchema).default([]),
        network: z
            .strictObject({
                publicCidr: z.cidrv4().optional(),
                privateCidr: z.cidrv4().optional(),
            })
            .default({}),
        /** A registry the nodes pull from (host:port). */
        registry: z.string().min(1).optional(),
        /** vip needs IPVS on the nodes; the lab's kernel has none, so the lab uses dnsrr. @default - vip (lab: dnsrr) */
        endpointMode: z.enum(["vip", "dnsrr"]).optional(),
        /** ingress needs the routing mesh (IPVS); the lab uses host. @default - ingress (lab: host) */
        publishMode: z.enum(["ingress", "host"]).optional(),
        /** Encrypt overlay networks that carry data (IPsec). @default - true (lab: false, its kernel cannot) */
        encryptOverlays: z.boolean().optional(),
        demo: demoSchema.default({ enabled: true, replicas: 2 }),
    })
    .superRefine((cfg, ctx) => {
        const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
        if (cfg.managers.length % 2 === 0) {
            issue(["managers"], `${cfg.managers.length} managers cannot survive the loss of one (Raft needs a majority); fix: use 1, 3 or 5`);
        }
        if (!cfg.sshPrivateKey === !cfg.sshPrivateKeyPath) {
            issue([], "exactly one of sshPrivateKey (secure) and sshPrivateKeyPath must be set; fix: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`");
        }
        const hosts: { path: (string | number)[]; name: string; addrs: string[] }[] = [
            { path: ["bastion"], name: cfg.bastion.name, addrs: [cfg.bastion.publicAddress, cfg.bastion.privateAddress ?? ""] },
            ...cfg.managers.map((m, i) => ({ path: ["managers", i], name: m.name, addrs: [m.publicAddress ?? "", m.privateAddress] })),
            ...cfg.workers.map((w, i) => ({ path: ["workers", i], name: w.name, addrs: ["", w.privateAddress] })),
        ];
        const seenNames = new Map<string, string>();
        const seenAddrs = new Map<string, string>();
        for (const h of hosts) {
            const where = formatPath(h.path);
            const prev = seenNames.get(h.name);
            if (prev) issue([...h.path, "name"], `${h.name} is already the name of ${prev}; fix: give every host a unique name`);
            else seenNames.set(h.name, where);
            for (const a of h.addrs.filter((x) => x)) {
                const p = seenAddrs.get(a);
                if (p && p !== where) issue(h.path, `address ${a} is already used by ${p}; fix: give every host its own addresses`);
                else seenAddrs.set(a, where);
            }
        }
        const inRange = (cidr: string | undefined, addr: string | undefined, path: (string | number)[], which: string) => {
            if (cidr && addr && ipv4Parse(addr) !== undefined && !cidrContains(cidr, addr)) {
                issue(path, `${addr} is outside network.${which} ${cidr}; fix: use an address in ${cidr} or widen network.${which}`);
            }
        };
        inRange(cfg.network.publicCidr, cfg.bastion.publicAddress, ["bastion", "publicAddress"], "publicCidr");
        inRange(cfg.network.privateCidr, cfg.bastion.privateAddress, ["bastion", "privateAddress"], "privateCidr");
        cfg.managers.forEach((m, i) => {
            inRange(cfg.network.publicCidr, m.publicAddress, ["managers", i, "publicAddress"], "publicCidr");
            inRange(cfg.network.privateCidr, m.privateAddress, ["managers", i, "privateAddress"], "privateCidr");
        });
        cfg.workers.forEach((w, i) => inRange(cfg.network.privateCidr, w.privateAddress, ["workers", i, "privateAddress"], "privateCidr"));
        if (cfg.demo.enabled && !cfg.demo.image && !cfg.registry) {
            issue(["demo", "image"], "the demo stack is enabled but has no image; fix: set demo.image, set registry (the lab's image is used), or set demo.enabled false");
        }
    });

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type ParsedStackConfig = z.output<typeof stackConfigSchema>;

/** The configuration with every profile default applied. */
export interface StackConfig extends ParsedStackConfig {
    endpointMode: "vip" | "dnsrr";
    publishMode: "ingress" | "host";
    encryptOverlays: boolean;
    demo: ParsedStackConfig["demo"] & { image: string };
}

/** Thrown when the configuration is invalid; its message lists every problem, one per line. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

/** Placeholder shown instead of a secret config value in error messages. */
const SECRET_KEYS = new Set(["sshPrivateKey"]);

/**
 * Validate the project's configuration namespace.
 * @param raw keys without the `swarm-etl:` prefix, values already JSON-decoded.
 */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
    const result = stackConfigSchema.safeParse(raw);
    if (!result.success) {
        throw new ConfigError(result.error.issues.map((i) => describeIssue(i, raw)));
    }
    const cfg = result.data;
    const lab = cfg.profile === "lab";
    return {
        ...cfg,
        endpointMode: cfg.endpointMode ?? (lab ? "dnsrr" : "vip"),
        publishMode: cfg.publishMode ?? (lab ? "host" : "ingress"),
        encryptOverlays: cfg.encryptOverlays ?? !lab,
        demo: { ...cfg.demo, image: cfg.demo.image ?? `${cfg.registry}/lab/busybox:1.35` },
    };
}

/**
 * Turn the engine's flat config map (`swarm-etl:managers` → JSON text) into the raw object
 * `parseStackConfig` takes. Keys of other namespaces are ignored.
 */
export function rawConfigFromEngine(all: Record<string, string>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(all)) {
        if (!key.startsWith(`${PROJECT}:`)) continue;
        const name = key.slice(PROJECT.length + 1);
        raw[name] = decodeValue(text);
    }
    return raw;
}

/**
 * The same from a `Pulumi.<stack>.yaml` `config:` map. The CLI rewrites scalars as strings
 * (`encryptOverlays: "false"`) when it saves the file, so strings are decoded like the engine's.
 */
export function rawConfigFromStackFile(config: Record<string, unknown>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (!key.startsWith(`${PROJECT}:`)) continue;
        raw[key.slice(PROJECT.length + 1)] = typeof value === "string" ? decodeValue(value) : value;
    }
    return raw;
}

function decodeValue(text: string): unknown {
    const t = text.trim();
    if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
        try {
            return JSON.parse(t);
        } catch {
            return text;
        }
    }
    return text;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
    const key = `${PROJECT}:${formatPath(issue.path)}`;
    if (issue.code === "unrecognized_keys") {
        return issue.keys
            .map((k) =>
                issue.path[0] === "workers" && k === "publicAddress"
                    ? `${PROJECT}:${formatPath([...issue.path, k])}: a worker has no public address (workers are reached only through the bastion); fix: remove it, or list the host under managers`
                    : `${PROJECT}:${formatPath([...issue.path, k])}: unknown key; fix: remove it or correct its spelling (${knownKeysHint(issue.path)})`,
            )
            .join("\n  - ");
    }
    if (issue.code === "custom") {
        return issue.path.length === 0 ? `${PROJECT}: ${issue.message}` : `${key}: ${issue.message}`;
    }
    const value = lookup(raw, issue.path);
    if (value === undefined && issue.code === "invalid_type") {
        return `${key}: is required but not set; fix: set it in Pulumi.<stack>.yaml`;
    }
    const shown = issue.path.some((p) => SECRET_KEYS.has(String(p))) ? "[secret]" : JSON.stringify(value);
    let message = issue.message;
    if (issue.code === "invalid_value" && "values" in issue) {
        message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}; fix: use one of them`;
    } else if (issue.code === "invalid_type") {
        message = `must be a ${issue.expected}; fix: write a ${issue.expected}`;
    }
    return issue.path.length === 0 ? `${PROJECT}: ${message}` : `${key}: ${shown} ${message}`;
}

function knownKeysHint(path: PropertyKey[]): string {
    if (path.length === 0) return `known keys: ${Object.keys(stackConfigSchema.shape).join(", ")}`;
    return "see the configuration reference in README.md";
}

function formatPath(path: PropertyKey[]): string {
    return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), "");
}

function lookup(obj: unknown, path: PropertyKey[]): unknown {
    let cur: unknown = obj;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[p];
    }
    return cur;
}

function ipv4Parse(addr: string): number | undefined {
    const parts = addr.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** True when `addr` lies inside `cidr` (both IPv4). */
export function cidrContains(cidr: string, addr: string): boolean {
    const [base, bitsText] = cidr.split("/");
    const b = ipv4Parse(base);
    const a = ipv4Parse(addr);
    const bits = Number(bitsText);
    if (b === undefined || a === undefined) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (a & mask) >>> 0 === (b & mask) >>> 0;
}
