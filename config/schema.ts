// The stack configuration of swarm-etl: one schema (zod) that validates the whole `swarm-etl:*`
// namespace before any resource is declared. Every error names the key, the value and the fix,
// and all errors are reported at once.
import { z } from "zod";
import ssh2 = require("ssh2");
import { postgresConfigSchema, postgresStackProblems } from "../components/stacks/postgres/config";
import { sparkConfigSchema, sparkStackProblems } from "../components/stacks/spark/config";
import { etlConfigSchema, etlStackProblems } from "../components/stacks/etl/config";
import { identityConfigSchema, identityStackProblems, resolveIdentity, ResolvedIdentityConfig } from "../components/stacks/identity/config";
import { EDGE_CLIENT_ID, edgeConfigSchema, edgeStackProblems, resolveEdge, ResolvedEdgeConfig } from "../components/stacks/edge/config";
import { DEFAULT_ROLES } from "../components/stacks/identity/realm";
import { CONTROL_LABEL, observabilityConfigSchema, observabilityStackProblems, uiParts } from "../components/stacks/observability/config";

export const PROJECT = "swarm-etl";

const HOST_KEY_RE = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}$/;
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A whole number from `min` to `max` (no upper bound when `max` is undefined): a wrong type, a
 * fraction and a value out of range all get the same message, which states the range and `fix`.
 */
function wholeNumber(min: number, max: number | undefined, fix: string) {
    const message = `must be a whole number${max === undefined ? `, ${min} or more` : ` from ${min} to ${max}`}; fix: ${fix}`;
    const atLeast = z.number({ message }).int({ message }).min(min, { message });
    return max === undefined ? atLeast : atLeast.max(max, { message });
}

/** The `-t` argument of `ssh-keyscan` for each host key type HOST_KEY_RE accepts. */
const KEYSCAN_TYPE: Record<string, string> = {
    "ssh-ed25519": "ed25519",
    "ecdsa-sha2-nistp256": "ecdsa",
    "ecdsa-sha2-nistp384": "ecdsa",
    "ecdsa-sha2-nistp521": "ecdsa",
    "ssh-rsa": "rsa",
};
/** string "ssh-ed25519" (4 + 11 bytes) and string of the 32-byte key (4 + 32) (RFC 8709). */
const ED25519_BLOB_BYTES = 51;
/** An uncompressed point (0x04 || X || Y) on each curve (RFC 5656). */
const EC_POINT_BYTES: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };
/** OpenSSH refuses smaller RSA keys. */
const RSA_MIN_MODULUS_BITS = 1024;

/**
 * Why the base64 blob of `key` ("<type> <base64>", as HOST_KEY_RE matches) is not a well-formed SSH
 * public key of that type (RFC 4253 §6.6 wire format), or undefined when it is one: it starts with
 * its own type name, then holds the fields of that type, and nothing after them. `ssh2.utils.parseKey`
 * is not enough here: it accepts trailing bytes, an ECDSA key naming another curve or a short point,
 * and a 1-byte RSA modulus, and says only "Malformed OpenSSH public key".
 */
export function hostKeyBlobProblem(key: string): string | undefined {
    const [type, b64] = key.split(" ");
    const blob = Buffer.from(b64, "base64");
    const cut = (field: string) =>
        type === "ssh-ed25519"
            ? `is cut short (${blob.length} bytes of the ${ED25519_BLOB_BYTES} an ssh-ed25519 key has)`
            : `is cut short (its blob ends after ${blob.length} bytes, inside the ${field})`;
    const malformed = (detail: string) => `is malformed (${detail})`;
    // The type name, as a length-prefixed string.
    const header = Buffer.alloc(4 + type.length);
    header.writeUInt32BE(type.length, 0);
    header.write(type, 4, "latin1");
    if (blob.length < header.length) {
        return header.subarray(0, blob.length).equals(blob) ? cut("key type") : malformed(`its blob does not start with the key type ${type}`);
    }
    if (!blob.subarray(0, header.length).equals(header)) {
        const len = blob.readUInt32BE(0);
        const inner = blob.subarray(4, 4 + len).toString("latin1");
        return malformed(len <= 64 && /^[a-z0-9@.+-]+$/i.test(inner) ? `its blob holds a key of type ${inner}, not ${type}` : `its blob does not start with the key type ${type}`);
    }
    let at = header.length;
    /** The next length-prefixed string, or a CutShort when the blob ends first. */
    const next = (field: string): Buffer => {
        if (at + 4 > blob.length || at + 4 + blob.readUInt32BE(at) > blob.length) throw new CutShort(field);
        const len = blob.readUInt32BE(at);
        const value = blob.subarray(at + 4, at + 4 + len);
        at += 4 + len;
        return value;
    };
    try {
        if (type === "ssh-ed25519") {
            if (blob.length < ED25519_BLOB_BYTES) return cut("public key");
            const len = blob.readUInt32BE(at);
            if (len !== 32) return malformed(`its public key is said to have ${len} bytes, not 32`);
            at += 4 + len;
        } else if (type.startsWith("ecdsa-sha2-")) {
            const curve = type.slice("ecdsa-sha2-".length);
            const named = next("curve name").toString("latin1");
            if (named !== curve) return malformed(`its curve is ${JSON.stringify(named)}, not ${JSON.stringify(curve)}`);
            const point = next("curve point");
            if (point.length !== EC_POINT_BYTES[curve]) return malformed(`its curve point has ${point.length} bytes, not the ${EC_POINT_BYTES[curve]} of an uncompressed ${curve} point`);
            if (point[0] !== 0x04) return malformed(`its curve point starts with 0x${point[0].toString(16).padStart(2, "0")}, not 0x04 as an uncompressed point does`);
        } else {
            const e = next("public exponent");
            const n = next("modulus");
            if (!e.some((b) => b !== 0)) return malformed("its public exponent is 0 or empty");
            const bits = mpintBits(n);
            if (bits < RSA_MIN_MODULUS_BITS) return malformed(`its modulus has ${bits} bits, OpenSSH needs ${RSA_MIN_MODULUS_BITS} or more`);
        }
    } catch (err) {
        if (err instanceof CutShort) return cut(err.field);
        throw err;
    }
    if (at !== blob.length) {
        return type === "ssh-ed25519"
            ? malformed(`its blob has ${blob.length} bytes, an ssh-ed25519 key has ${ED25519_BLOB_BYTES}`)
            : malformed(`its blob has ${blob.length - at} bytes after the key`);
    }
    return undefined;
}

class CutShort {
    constructor(readonly field: string) {}
}

/** Significant bits of an SSH mpint (big-endian, leading zero bytes ignored). */
function mpintBits(n: Buffer): number {
    let i = 0;
    while (i < n.length && n[i] === 0) i++;
    return i === n.length ? 0 : (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]));
}

const hostKey = z
    .string()
    .regex(HOST_KEY_RE, {
        message: "is not an SSH public host key; fix: use the key type and base64 blob, e.g. the output of `ssh-keyscan -t ed25519 <host>` without the host name",
    })
    .superRefine((key, ctx) => {
        if (!HOST_KEY_RE.test(key)) return; // reported by the regex
        const problem = hostKeyBlobProblem(key);
        if (problem) {
            const scanType = KEYSCAN_TYPE[key.split(" ")[0]];
            ctx.addIssue({ code: "custom", message: `${JSON.stringify(key)} ${problem}; fix: copy the whole key, as \`ssh-keyscan -t ${scanType} <host>\` prints it, without the host name` });
        }
    });
const hostName = z.string().regex(NAME_RE, {
    message: "is not a valid host name; fix: lower-case letters, digits and '-', 1-63 characters",
});
const ipv4 = z.ipv4({ message: "is not an IPv4 address; fix: write a dotted-quad address such as 10.0.1.11" });
const port = wholeNumber(1, 65535, "use the port the host's sshd listens on, or remove the key for 22").default(22);
const cidr = z.cidrv4({ message: "is not an IPv4 range; fix: write a network address and prefix length such as 10.0.0.0/16" });

// Swarm label keys: the reverse-DNS form Docker documents (lower-case letters, digits, '.', '-'),
// outside the namespaces Docker reserves for itself.
const LABEL_KEY_RE = /^[a-z0-9]([a-z0-9.-]{0,126}[a-z0-9])?$/;
const RESERVED_LABEL_PREFIXES = ["com.docker.", "io.docker.", "org.dockerproject."];
const labels = z
    .record(z.string(), z.string().max(1024, { message: "is longer than 1024 characters; fix: shorten the label value" }).regex(/^[^\n\r]*$/, { message: "contains a line break; fix: use a single-line label value" }))
    .superRefine((map, ctx) => {
        for (const key of Object.keys(map)) {
            if (!LABEL_KEY_RE.test(key)) {
                ctx.addIssue({ code: "custom", path: [key], message: `label key ${JSON.stringify(key)} is not a valid Swarm label; fix: use lower-case letters, digits, '.' and '-', starting and ending with a letter or digit (e.g. etl.storage)` });
            } else if (RESERVED_LABEL_PREFIXES.some((p) => key.startsWith(p))) {
                ctx.addIssue({ code: "custom", path: [key], message: `label key ${JSON.stringify(key)} is in a namespace Docker reserves (${RESERVED_LABEL_PREFIXES.join(", ")}); fix: use your own prefix, e.g. etl.` });
            }
        }
    });
const availability = z.enum(["active", "pause", "drain"]);
const nodeUser = z.string().min(1).optional();

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
    /** SSH user on this host. @default - `sshUser` */
    user: nodeUser,
    hostKey,
    /** Swarm node labels (placement constraints use them). */
    labels: labels.default({}),
    /** @default - prod: drain (managers run no workloads); else active */
    availability: availability.optional(),
});

const workerSchema = z.strictObject({
    name: hostName,
    privateAddress: ipv4,
    port,
    /** SSH user on this host. @default - `sshUser` */
    user: nodeUser,
    hostKey,
    /** Swarm node labels (placement constraints use them). */
    labels: labels.default({}),
    /** @default - active */
    availability: availability.optional(),
});

const hostCheckSchema = z.strictObject({
    /** Oldest Docker Engine accepted on a node (major.minor). @default - 20.10 */
    minDockerVersion: z.string().regex(/^\d+\.\d+$/, { message: "is not a major.minor version; fix: write e.g. 20.10" }).default("20.10"),
    /** Install docker.io with apt-get (Debian/Ubuntu) on a node that has no Docker. @default - false */
    installDocker: z.boolean().default(false),
    /** Check, from every node, that the other nodes' Swarm TCP ports (2377 on managers, 7946) answer. @default - true */
    ports: z.boolean().default(true),
});

const demoSchema = z.strictObject({
    /** Deploy the demo stack (an overlay network and a replicated web service). @default - true */
    enabled: z.boolean().default(true),
    /** Image of the demo web service; it must provide busybox `httpd`. */
    image: z.string().min(1).optional(),
    /** Replicas of the demo web service. @default - 2 */
    replicas: wholeNumber(0, 100, "set demo.replicas to e.g. 2 (the default), or set demo.enabled false to skip the demo").default(2),
});

/** What validation may read besides the config itself. */
export interface ParseOptions {
    /** Reads `sshPrivateKeyPath` so a missing or malformed key file is reported with the rest. @default - not read */
    readFile?: (path: string) => string;
}

/** Why `text` is not a private key ssh2 can use, or undefined when it is one. */
export function privateKeyProblem(text: string): string | undefined {
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error) return `is not a usable private key (${parsed.message})`;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || !key.isPrivateKey()) return "is a public key, not a private key";
    return undefined;
}

const stackConfigShape = {
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
                publicCidr: cidr.optional(),
                privateCidr: cidr.optional(),
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
        /** Platform images by name, pinned by digest on real clusters (images/build.sh records them). @default - none */
        images: z.record(z.string(), z.string().min(1)).default({}),
        /** The PostgreSQL cluster (components/stacks/postgres/config.ts). */
        postgres: postgresConfigSchema.default(postgresConfigSchema.parse({})),
        /** The Spark standalone cluster (components/stacks/spark/config.ts). */
        spark: sparkConfigSchema.default(sparkConfigSchema.parse({})),
        /** The flights ETL job on it (components/stacks/etl/config.ts). */
        etl: etlConfigSchema.default(etlConfigSchema.parse({})),
        /** Keycloak, the identity service (components/stacks/identity/config.ts). */
        identity: identityConfigSchema.default(identityConfigSchema.parse({})),
        /** The one entrance to every UI, behind a Keycloak login (components/stacks/edge/config.ts). */
        edge: edgeConfigSchema.default(edgeConfigSchema.parse({})),
        /** Metrics, alerts, logs, traces and Grafana (components/stacks/observability/config.ts). */
        observability: observabilityConfigSchema.default(observabilityConfigSchema.parse({})),
        /** Lock the managers' Raft keys at rest: a restarted manager needs the unlock key. @default - prod: true, else false */
        autolock: z.boolean().optional(),
        /** Increase to rotate both join tokens (nodes already in the swarm stay). @default - 0 */
        joinTokenRotation: wholeNumber(0, undefined, "increase the current value by one to rotate the join tokens").default(0),
        /** Where the `sshConfig` and `ansibleInventory` outputs expect files on the operator's machine. */
        access: z
            .strictObject({
                /** @default - sshPrivateKeyPath, else ~/.ssh/swarm-etl-<stack> */
                identityFile: z.string().min(1).optional(),
                /** Write the `knownHosts` output here. @default - ~/.ssh/swarm-etl-<stack>.known_hosts */
                knownHostsFile: z.string().min(1).optional(),
            })
            .default({}),
        /** Checks run on every host before it joins. */
        hostCheck: hostCheckSchema.default({ minDockerVersion: "20.10", installDocker: false, ports: true }),
};

/**
 * A manager's availability when its config leaves it out: prod drains its managers, except the
 * control manager (label swarm-etl.control: "true"), which stays active for the control services.
 */
export function defaultManagerAvailability(labels: Record<string, string>, profile: string): "active" | "drain" {
    return profile === "prod" && labels[CONTROL_LABEL] !== "true" ? "drain" : "active";
}

/** The whole schema; `options` adds checks that read outside the config (the key file). */
export function stackConfigSchema(options: ParseOptions = {}) {
    return z.strictObject(stackConfigShape).superRefine((cfg, ctx) => {
        let issues = 0;
        const issue = (path: (string | number)[], message: string) => {
            issues++;
            ctx.addIssue({ code: "custom", path, message });
        };
        if (cfg.managers.length % 2 === 0) {
            issue(["managers"], `${cfg.managers.length} managers cannot survive the loss of one (Raft needs a majority); fix: use 1, 3 or 5`);
        } else if (cfg.profile === "prod" && cfg.managers.length < 3) {
            issue(["managers"], `prod needs 3 or 5 managers to survive the loss of one, not ${cfg.managers.length}; fix: list 3 or 5 managers (or use the dev profile)`);
        } else if (cfg.managers.length > 7) {
            issue(["managers"], `${cfg.managers.length} managers slow every Raft write down; fix: use 3, 5 or 7 managers and make the other hosts workers`);
        }
        if (!cfg.sshPrivateKey === !cfg.sshPrivateKeyPath) {
            issue([], "exactly one of sshPrivateKey (secure) and sshPrivateKeyPath must be set; fix: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`");
        } else if (cfg.sshPrivateKey) {
            const problem = privateKeyProblem(cfg.sshPrivateKey);
            if (problem) issue(["sshPrivateKey"], `[secret] ${problem}; fix: \`pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519\` with an unencrypted OpenSSH or PEM private key`);
        } else if (cfg.sshPrivateKeyPath && options.readFile) {
            let text: string | undefined;
            try {
                text = options.readFile(cfg.sshPrivateKeyPath);
            } catch (err) {
                issue(["sshPrivateKeyPath"], `${JSON.stringify(cfg.sshPrivateKeyPath)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix: point it at the private key file (for the lab: run \`lab/lab.sh up\`)`);
            }
            const problem = text === undefined ? undefined : privateKeyProblem(text);
            if (problem) issue(["sshPrivateKeyPath"], `${JSON.stringify(cfg.sshPrivateKeyPath)} ${problem}; fix: point it at an unencrypted OpenSSH or PEM private key`);
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
        const { publicCidr, privateCidr } = cfg.network;
        if (publicCidr && privateCidr && cidrsOverlap(publicCidr, privateCidr)) {
            issue(["network"], `publicCidr ${publicCidr} and privateCidr ${privateCidr} overlap; fix: give the public and the private network ranges that share no address`);
        }
        const prod = cfg.profile === "prod";
        const managerAvailability = cfg.managers.map((m) => m.availability ?? defaultManagerAvailability(m.labels, cfg.profile));
        const workerAvailability = cfg.workers.map((w) => w.availability ?? "active");
        if (cfg.managers.length > 0 && ![...managerAvailability, ...workerAvailability].includes("active")) {
            // Swarm schedules tasks on active nodes only: with none, every service stays pending.
            const managersWhy = prod && cfg.managers.every((m) => m.availability === undefined) ? "prod drains its managers" : `every manager's availability is ${distinct(managerAvailability)}`;
            issue(
                ["workers"],
                cfg.workers.length === 0
                    ? `[] leaves no node to run services (${managersWhy}); fix: list at least one worker, or set availability: active on a manager`
                    : `every worker's availability is ${distinct(workerAvailability)} and ${managersWhy}, so no node can run services; fix: set availability: active on a worker (or add one), or on a manager`,
            );
        }
        if (cfg.demo.enabled && !cfg.demo.image && !cfg.registry) {
            issue(["demo", "image"], "the demo stack is enabled but has no image; fix: set demo.image, set registry (the lab's image is used), or set demo.enabled false");
        }
        for (const [group, list] of [["managers", cfg.managers], ["workers", cfg.workers]] as const) {
            list.forEach((h, i) => {
                if (h.labels["swarm-etl.role"] !== undefined) issue([group, i, "labels", "swarm-etl.role"], "is set by the program (manager or worker); fix: remove it");
            });
        }
        const nodes = [
            ...cfg.managers.map((m) => ({ name: m.name, role: "manager" as const, labels: m.labels, availability: m.availability ?? defaultManagerAvailability(m.labels, cfg.profile) })),
            ...cfg.workers.map((w) => ({ name: w.name, role: "worker" as const, labels: w.labels, availability: w.availability })),
        ];
        // The data tier's placement is checked once the hosts are right (else its messages only echo theirs).
        const anyIssue = issues > 0 || ((ctx as unknown as { issues?: unknown[] }).issues?.length ?? 0) > 0;
        for (const [path, message] of anyIssue ? [] : postgresStackProblems(cfg.postgres, nodes, cfg.images, cfg.profile)) {
            issue(path[0] === "images" ? path : ["postgres", ...path], message);
        }
        for (const [path, message] of anyIssue ? [] : sparkStackProblems(cfg.spark, nodes, cfg.images, cfg.profile)) {
            issue(path[0] === "images" ? path : ["spark", ...path], message);
        }
        for (const [path, message] of anyIssue ? [] : etlStackProblems(cfg.etl, cfg.spark.enabled, cfg.postgres, cfg.images, cfg.profile)) {
            issue(path[0] === "images" ? path : ["etl", ...path], message);
        }
        const identity = resolveIdentity(cfg.identity, cfg.postgres.enabled, cfg.profile);
        const edge = resolveEdge(cfg.edge, identity.enabled, cfg.profile);
        for (const [path, message] of anyIssue ? [] : identityStackProblems(identity, cfg.postgres, nodes, cfg.images, cfg.profile, edge.enabled ? [EDGE_CLIENT_ID] : [])) {
            issue(path[0] === "images" ? path : ["identity", ...path], message);
        }
        const edgeCtx = { identityEnabled: identity.enabled, deployed: uiParts(cfg.observability, { identity: identity.enabled, spark: cfg.spark.enabled, edge: edge.enabled, profile: cfg.profile }), roles: DEFAULT_ROLES.map((r) => r.name), images: cfg.images, profile: cfg.profile };
        for (const [path, message] of anyIssue ? [] : edgeStackProblems(edge, edgeCtx)) {
            issue(path[0] === "images" ? path : ["edge", ...path], message);
        }
        const obsCtx = { images: cfg.images, profile: cfg.profile, edgeEnabled: edge.enabled, identityEnabled: identity.enabled };
        for (const [path, message] of anyIssue ? [] : observabilityStackProblems(cfg.observability, nodes, obsCtx)) {
            issue(path[0] === "images" ? path : ["observability", ...path], message);
        }
    });
}

type Schema = ReturnType<typeof stackConfigSchema>;
export type StackConfigInput = z.input<Schema>;
export type ParsedStackConfig = z.output<Schema>;

/** The configuration with every profile default applied. */
export interface StackConfig extends ParsedStackConfig {
    endpointMode: "vip" | "dnsrr";
    publishMode: "ingress" | "host";
    encryptOverlays: boolean;
    autolock: boolean;
    managers: (ParsedStackConfig["managers"][number] & { availability: "active" | "pause" | "drain" })[];
    workers: (ParsedStackConfig["workers"][number] & { availability: "active" | "pause" | "drain" })[];
    demo: ParsedStackConfig["demo"] & { image: string };
    identity: ResolvedIdentityConfig;
    edge: ResolvedEdgeConfig;
}

/** Thrown when the configuration is invalid; its message lists every problem, one per line. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

/** Placeholder shown instead of a secret config value in error messages. */
const SECRET_KEYS = new Set(["sshPrivateKey", "privateKey", "initialPassword", "password", "url"]);

/**
 * Validate the project's configuration namespace.
 * @param raw keys without the `swarm-etl:` prefix, values already JSON-decoded.
 */
export function parseStackConfig(raw: Record<string, unknown>, options: ParseOptions = {}): StackConfig {
    const result = stackConfigSchema(options).safeParse(raw);
    if (!result.success) {
        throw new ConfigError(result.error.issues.map((i) => describeIssue(i, raw)));
    }
    const cfg = result.data;
    const identity = resolveIdentity(cfg.identity, cfg.postgres.enabled, cfg.profile);
    const lab = cfg.profile === "lab";
    return {
        ...cfg,
        endpointMode: cfg.endpointMode ?? (lab ? "dnsrr" : "vip"),
        publishMode: cfg.publishMode ?? (lab ? "host" : "ingress"),
        encryptOverlays: cfg.encryptOverlays ?? !lab,
        autolock: cfg.autolock ?? cfg.profile === "prod",
        managers: cfg.managers.map((m) => ({ ...m, availability: m.availability ?? defaultManagerAvailability(m.labels, cfg.profile) })),
        workers: cfg.workers.map((w) => ({ ...w, availability: w.availability ?? "active" })),
        demo: { ...cfg.demo, image: cfg.demo.image ?? `${cfg.registry}/lab/busybox:1.35` },
        identity,
        edge: resolveEdge(cfg.edge, identity.enabled, cfg.profile),
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
    // Our own messages carry their fix; zod's defaults ("Too small: expected number to be >=1") do not.
    const message = issue.message.includes("; fix: ") ? issue.message : defaultMessage(issue);
    return issue.path.length === 0 ? `${PROJECT}: ${message}` : `${key}: ${shown} ${message}`;
}

/** Type names as zod 4 reports them in `expected`, with their article and a fix. */
const TYPE_MESSAGES: Record<string, string> = {
    string: "must be a string; fix: write a string",
    number: "must be a number; fix: write a number, without quotes",
    int: "must be a whole number; fix: write a whole number, without quotes or a fraction",
    boolean: "must be a boolean; fix: write true or false, without quotes",
    object: "must be an object (a YAML mapping); fix: write it as `key: value` lines",
    record: "must be an object (a YAML mapping); fix: write it as `key: value` lines",
    array: "must be an array (a YAML list); fix: write it as a YAML list, one `- ` entry per item",
};

/** A message with a fix for an issue whose schema gave none, from the issue's code and bounds. */
function defaultMessage(issue: z.core.$ZodIssue): string {
    switch (issue.code) {
        case "invalid_value":
            return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}; fix: use one of them`;
        case "invalid_type": {
            const known = TYPE_MESSAGES[issue.expected];
            if (known) return known;
            const a = `${/^[aeiou]/i.test(issue.expected) ? "an" : "a"} ${issue.expected}`;
            return `must be ${a}; fix: write ${a}`;
        }
        case "too_small": {
            const min = String(issue.minimum);
            const exact = issue.exact === true;
            if (issue.origin === "string") {
                if (exact) return `must be exactly ${min} characters long; fix: use ${min} characters`;
                return issue.minimum === 1 && issue.inclusive !== false
                    ? "must not be empty; fix: set a value, or remove the key"
                    : `must be at least ${min} characters long; fix: use a longer value`;
            }
            if (issue.origin === "array" || issue.origin === "set") return `must list ${exact ? "exactly" : "at least"} ${min} item${min === "1" ? "" : "s"}; fix: add items`;
            if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") {
                return issue.inclusive === false ? `must be more than ${min}; fix: use a number above ${min}` : `must be ${min} or more; fix: use a number of at least ${min}`;
            }
            return `is too small (the minimum is ${min}); fix: use at least ${min}`;
        }
        case "too_big": {
            const max = String(issue.maximum);
            const exact = issue.exact === true;
            if (issue.origin === "string") {
                return exact ? `must be exactly ${max} characters long; fix: use ${max} characters` : `must be at most ${max} characters long; fix: shorten it`;
            }
            if (issue.origin === "array" || issue.origin === "set") return `must list ${exact ? "exactly" : "at most"} ${max} item${max === "1" ? "" : "s"}; fix: remove items`;
            if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") {
                return issue.inclusive === false ? `must be less than ${max}; fix: use a number below ${max}` : `must be ${max} or less; fix: use a number of at most ${max}`;
            }
            return `is too big (the maximum is ${max}); fix: use at most ${max}`;
        }
        default:
            return `${issue.message}; fix: see the configuration reference in README.md`;
    }
}

/** "drain", or "drain or pause" when they differ. */
function distinct(values: string[]): string {
    return [...new Set(values)].sort().join(" or ");
}

function knownKeysHint(path: PropertyKey[]): string {
    if (path.length === 0) return `known keys: ${Object.keys(stackConfigShape).join(", ")}`;
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

/** True when the IPv4 ranges `a` and `b` share an address (one then contains the other). */
export function cidrsOverlap(a: string, b: string): boolean {
    const parse = (cidr: string) => {
        const [base, bitsText, ...rest] = cidr.split("/");
        const bits = /^\d{1,2}$/.test(bitsText ?? "") ? Number(bitsText) : NaN;
        return rest.length === 0 && ipv4Parse(base) !== undefined && bits <= 32 ? { base, bits } : undefined;
    };
    const [pa, pb] = [parse(a), parse(b)];
    if (!pa || !pb) return false;
    return cidrContains(`${pa.base}/${Math.min(pa.bits, pb.bits)}`, pb.base);
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
