// The shared provider of swarm:Secret and swarm:Config. Swarm cannot change the data of either,
// so each object is named `<name>-<first 10 hex of sha256(data)>` (or `<name>-<version>`): a new
// value is a new object, i.e. a *replace* that the engine does create-before-delete — it creates
// the new object, updates the services whose inputs reference it, then deletes the old one.
// Labels are the one thing Swarm updates in place (POST /secrets|configs/{id}/update).
// The data never reaches the outputs: only its sha256 (a secret output for Secret).
import { createHash, randomBytes } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, knownProps, plain, sleep, statusCode, toTarget } from "./common";
import { generateTlsIdentity, TlsIdentitySpec, tlsSpecProblems } from "./tlsIdentity";

export type VersionedKind = "secret" | "config";

/** Arguments of a Secret or a Config. */
export interface VersionedArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    /** Base name; the object is named `<name>-<version or first 10 hex of sha256(data)>`. */
    name: pulumi.Input<string>;
    /** The value, UTF-8 text (a secret: 1 byte to 500 KiB, always stored as a secret; a config: up to 1000 KiB, a pulumi.secret stays encrypted). Required unless `generate` is set. */
    data?: pulumi.Input<string>;
    /**
     * Secrets only, instead of `data`: the provider makes a random value of `bytes` random bytes
     * (base64url text) and hands it only to Docker, so it is in no input, output or state file.
     * Services read it from the mounted file. Rotate it with a new `version`.
     * `{ tls }` makes a TLS identity instead: a self-signed certificate for those DNS names and its
     * key, one PEM text (tlsIdentity.ts); a change of the spec makes a new one.
     * @default - not generated: `data` is the value
     */
    generate?: pulumi.Input<Generate>;
    /**
     * Names the object `<name>-<version>` instead of by the data's hash; must change with the data.
     * Use it for low-entropy values (a hand-picked password) whose hash prefix would help guessing.
     * @default - the first 10 hex digits of the data's sha256
     */
    version?: pulumi.Input<string>;
    /** Labels; changed in place. @default - none */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** What a generated secret is: random bytes (a password), or a TLS identity. */
export type Generate = { bytes: number } | { tls: TlsIdentitySpec };

/** The value a generate spec makes. */
export const generatedValue = (g: Generate): string => ("tls" in g ? generateTlsIdentity(g.tls) : randomBytes(g.bytes).toString("base64url"));

/** The inputs both resources share. */
export interface VersionedInputs extends ConnectionInputs {
    /** Base name; the Swarm name is `<name>-<suffix>`. */
    name: string;
    /** The value (UTF-8 text). Never stored in outputs. Absent when generated. */
    data?: string;
    /** Generate a random value of this many bytes instead of taking `data` (secrets only). */
    generate?: Generate;
    /** Explicit suffix instead of the data's hash; must change whenever `data` does. */
    version?: string;
    labels?: Record<string, string>;
    providerVersion: string;
}

/** The outputs: inputs without `data`, plus the Swarm object's ID and name and the data's sha256. */
export interface VersionedOutputs extends Omit<VersionedInputs, "data"> {
    dataHash: string;
    /** `secretId`/`secretName` or `configId`/`configName`. */
    [k: string]: unknown;
}

/** Swarm's limits (swarmkit controlapi): data 1 byte .. 500 KiB (secret) / 1000 KiB (config), name ≤ 64. */
export const MAX_DATA_BYTES: Record<VersionedKind, number> = { secret: 500 * 1024, config: 1000 * 1024 };
export const MAX_NAME_LENGTH = 64;
const NAME_RE = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
/** What the engine sends for a value not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** How long delete() retries while a service still uses the object (its update may be rolling). */
export const IN_USE_RETRY_MS = 30_000;

export function dataHash(data: string): string {
    return createHash("sha256").update(data, "utf8").digest("hex");
}

/** The Swarm name: `<name>-<version>`, or `<name>-<first 10 hex of the data's sha256>`. */
export function versionedName(name: string, hash: string, version?: string): string {
    return `${name}-${version ? version : hash.slice(0, 10)}`;
}

export const idKey = (kind: VersionedKind) => `${kind}Id`;
export const nameKey = (kind: VersionedKind) => `${kind}Name`;
const Kind = (kind: VersionedKind) => (kind === "secret" ? "Secret" : "Config");

/** check(): every problem at once, each with the value and the fix. */
export function checkVersioned(kind: VersionedKind, olds: Partial<VersionedInputs>, news: Partial<VersionedInputs>): pulumi.dynamic.CheckFailure[] {
    const f: pulumi.dynamic.CheckFailure[] = [];
    const { name, data, version, generate } = news;
    if (typeof name !== "string" || !NAME_RE.test(name)) {
        f.push({ property: "name", reason: `${kind} name ${JSON.stringify(name)} is not valid: use letters, digits, and - _ . inside (e.g. "app-db-password")` });
    }
    if (version !== undefined && (typeof version !== "string" || !NAME_RE.test(version))) {
        f.push({ property: "version", reason: `version ${JSON.stringify(version)} is not valid: use letters, digits, and - _ . inside (e.g. "v2"), or leave it out to name the ${kind} by its data's hash` });
    }
    if (generate !== undefined) {
        // During preview the whole object, or only its bytes, may be unknown.
        const tls = typeof generate === "object" && generate !== null && "tls" in generate;
        const n = (generate as unknown) === UNKNOWN || tls ? UNKNOWN : (generate as { bytes?: unknown })?.bytes;
        if (kind !== "secret") f.push({ property: "generate", reason: `a config cannot be generated (its data is readable by anyone who can inspect it); set data instead` });
        if (data !== undefined) f.push({ property: "generate", reason: `set either data or generate, not both: generate makes a random value, data is a given one` });
        if (tls && JSON.stringify(generate).indexOf(UNKNOWN) < 0) for (const reason of tlsSpecProblems((generate as { tls: unknown }).tls)) f.push({ property: "generate", reason });
        if (n !== UNKNOWN && (typeof n !== "number" || !Number.isInteger(n) || n < 16 || n > 1024)) {
            f.push({ property: "generate", reason: `generate.bytes must be a whole number from 16 to 1024, got ${JSON.stringify(n)}; fix: use 32 for a password` });
        }
    } else if (data !== UNKNOWN) {
        const bytes = typeof data === "string" ? Buffer.byteLength(data, "utf8") : -1;
        if (bytes < 1 || bytes > MAX_DATA_BYTES[kind]) {
            f.push({
                property: "data",
                reason: `${kind} data must be a non-empty string of at most ${MAX_DATA_BYTES[kind] / 1024} KiB (Swarm's limit), got ${bytes < 0 ? typeof data : `${bytes} bytes`}`,
            });
        }
    }
    if (typeof name === "string" && name !== UNKNOWN && version !== UNKNOWN) {
        const full = versionedName(name, "0".repeat(10), version);
        if (full.length > MAX_NAME_LENGTH) {
            f.push({ property: "name", reason: `${kind} name "${full}" is ${full.length} characters; Swarm allows ${MAX_NAME_LENGTH}: shorten name or version` });
        }
    }
    const pinned = version !== undefined && olds.version === version && typeof olds.data === "string";
    if (pinned && typeof data === "string" && data !== UNKNOWN && olds.data !== UNKNOWN && dataHash(olds.data!) !== dataHash(data)) {
        f.push({
            property: "version",
            reason: `the data of ${kind} "${name}" changed but version stays "${version}": a Swarm ${kind} cannot change, and its replacement needs a new name; set a new version (or leave version out to name it by the data's hash)`,
        });
    }
    return f;
}

/** diff(): data, name or version → replace (create-before-delete); labels → update in place. */
export function diffVersioned(kind: VersionedKind, olds: VersionedOutputs, news: VersionedInputs): { changes: boolean; replaces: string[]; updates: string[] } {
    const replaces: string[] = [];
    const generated = news.generate !== undefined;
    const hash = generated || news.data === UNKNOWN || news.data === undefined ? undefined : dataHash(news.data);
    if (generated ? olds.generate === undefined || JSON.stringify(olds.generate) !== JSON.stringify(news.generate) : hash !== olds.dataHash) replaces.push(generated ? "generate" : "data");
    if (olds.name !== news.name) replaces.push("name");
    if ((olds.version ?? "") !== (news.version ?? "")) replaces.push("version");
    // A live name that is not the one these inputs make (e.g. state written by another scheme).
    if (replaces.length === 0 && hash && olds[nameKey(kind)] !== versionedName(news.name, hash, news.version)) replaces.push("name");
    const updates = changedKeys<VersionedInputs>(olds as unknown as VersionedInputs, news, ["labels", "connection", "privateKey", "providerVersion"]) as string[];
    return { changes: replaces.length + updates.length > 0, replaces, updates };
}

/** Docker's view of a secret or config (configs carry their Data; secrets never do). */
export interface VersionedView {
    ID: string;
    Version: { Index: number };
    Spec: { Name: string; Labels?: Record<string, string>; Data?: string; [k: string]: unknown };
}

/** read(): the live name and labels; for a config, the hash of its live data. */
export function outputsFromLive(kind: VersionedKind, props: VersionedOutputs, live: VersionedView): VersionedOutputs {
    const labels = live.Spec.Labels && Object.keys(live.Spec.Labels).length ? live.Spec.Labels : undefined;
    const { labels: _old, ...rest } = props;
    return {
        ...rest,
        ...(labels ? { labels } : {}),
        dataHash: kind === "config" && live.Spec.Data !== undefined ? dataHash(Buffer.from(live.Spec.Data, "base64").toString("utf8")) : props.dataHash,
        [idKey(kind)]: live.ID,
        [nameKey(kind)]: live.Spec.Name,
    };
}

/** The public half of a generated TLS identity: its certificate (PEM), which clients trust. */
export function certificateOf(pem: string): string {
    const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(pem);
    if (!m) throw new Error("the generated TLS identity holds no certificate");
    return m[0].endsWith("\n") ? m[0] : `${m[0]}\n`;
}

/**
 * The outputs of create/update: everything but `data` (`value` is the data, given or generated);
 * a generated TLS identity adds its certificate (public: what a client trusts), never its key.
 */
export function outputsOf(kind: VersionedKind, inputs: VersionedInputs, id: string, value: string = inputs.data!): VersionedOutputs {
    const { data: _data, ...rest } = inputs;
    const hash = dataHash(value);
    const certificate = inputs.generate && "tls" in inputs.generate ? { certificate: certificateOf(value) } : {};
    return plain({ ...rest, ...certificate, dataHash: hash, [idKey(kind)]: id, [nameKey(kind)]: versionedName(inputs.name, hash, inputs.version) });
}

interface ServiceView {
    Spec?: { Name?: string; TaskTemplate?: { ContainerSpec?: { Secrets?: { SecretID?: string }[]; Configs?: { ConfigID?: string }[] } } };
}

/** Names of the services whose spec mounts the secret/config `id`. */
export function servicesUsing(kind: VersionedKind, id: string, services: ServiceView[]): string[] {
    return services
        .filter((s) => {
            const c = s.Spec?.TaskTemplate?.ContainerSpec;
            return kind === "secret" ? c?.Secrets?.some((x) => x.SecretID === id) : c?.Configs?.some((x) => x.ConfigID === id);
        })
        .map((s) => s.Spec?.Name ?? "?")
        .sort();
}

export function inUseMessage(kind: VersionedKind, name: string, services: string[], daemon: string): string {
    const who = services.length ? `service${services.length > 1 ? "s" : ""} ${services.join(", ")}` : "a service";
    return (
        `removing ${kind} ${name} failed: it is still used by ${who} (daemon: ${daemon}); ` +
        `remove it from ${services.length > 1 ? "those services" : "that service"} (or delete ${services.length > 1 ? "them" : "it"}) first, then run pulumi up again`
    );
}

function api(docker: Docker, kind: VersionedKind, id: string) {
    return kind === "secret" ? docker.getSecret(id) : docker.getConfig(id);
}

async function inspect(docker: Docker, kind: VersionedKind, id: string): Promise<VersionedView | undefined> {
    try {
        return (await api(docker, kind, id).inspect()) as unknown as VersionedView;
    } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw new Error(`reading ${kind} ${id} failed: ${daemonMessage(err)}`);
    }
}

/**
 * What a failed remove means: gone already (404), still used by a service (retried briefly),
 * a lost connection (no HTTP status: retried with a fresh session), or anything else (fatal).
 */
export function removeOutcome(err: unknown): "gone" | "in-use" | "transport" | "fatal" {
    const code = statusCode(err);
    if (code === 404) return "gone";
    if (code === undefined) return /does not match the pinned key|authentication|permission denied/i.test(daemonMessage(err)) ? "fatal" : "transport";
    return /in use/i.test(daemonMessage(err)) ? "in-use" : "fatal";
}

type RemoveAttempt = { done: true } | { done: false; why: string; fatal?: boolean };

/** The provider of one kind. Captures only `kind`: the serialized provider holds no client or secret. */
export function versionedProvider(kind: VersionedKind): pulumi.dynamic.ResourceProvider<VersionedInputs, VersionedOutputs> {
    return {
        async check(olds, news) {
            return { inputs: news, failures: checkVersioned(kind, olds ?? {}, news) };
        },

        async create(inputs) {
            const value = inputs.generate ? generatedValue(inputs.generate) : inputs.data!;
            const name = versionedName(inputs.name, dataHash(value), inputs.version);
            const spec = { Name: name, Labels: inputs.labels ?? {}, Data: Buffer.from(value, "utf8").toString("base64") };
            const id = await withSession(toTarget(inputs), async (s) => {
                const docker = s.docker();
                try {
                    const made = (await (kind === "secret" ? docker.createSecret(spec) : docker.createConfig(spec))) as { id: string };
                    return made.id;
                } catch (err) {
                    const fix =
                        statusCode(err) === 409
                            ? `; a ${kind} of that name exists outside this stack (left by an interrupted run?): check it with \`docker ${kind} inspect ${name}\` and remove it with \`docker ${kind} rm ${name}\`, or set a new version`
                            : "";
                    throw new Error(`creating ${kind} ${name} failed: ${daemonMessage(err)}${fix}`);
                }
            });
            return { id, outs: outputsOf(kind, inputs, id, value) };
        },

        async read(id, maybeProps) {
            const props = knownProps(maybeProps, `swarm:${Kind(kind)}`);
            const live = await withSession(toTarget(props), (s) => inspect(s.docker(), kind, id));
            if (!live) return { id: "", props: {} as VersionedOutputs };
            return { id, props: plain(outputsFromLive(kind, props, live)) };
        },

        async diff(_id, olds, news) {
            const d = diffVersioned(kind, olds, news);
            return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
        },

        async update(id, olds, news) {
            if (changedKeys<VersionedInputs>(olds as unknown as VersionedInputs, news, ["labels"]).length > 0) {
                await withSession(toTarget(news), async (s) => {
                    const docker = s.docker();
                    const live = await inspect(docker, kind, id);
                    const name = String(olds[nameKey(kind)]);
                    if (!live) throw new Error(`updating the labels of ${kind} ${name} failed: it no longer exists; run pulumi refresh, then pulumi up to recreate it`);
                    try {
                        // Swarm accepts only a change of Labels; the rest of the spec goes back as read.
                        await api(docker, kind, id).update({ _query: { version: live.Version.Index }, _body: { ...live.Spec, Labels: news.labels ?? {} } });
                    } catch (err) {
                        throw new Error(`updating the labels of ${kind} ${name} failed: ${daemonMessage(err)}`);
                    }
                });
            }
            // Labels only: the data (and so its hash and the name) stays what it was.
            const { data: _data, ...rest } = news;
            return { outs: plain({ ...rest, ...(olds.certificate ? { certificate: olds.certificate } : {}), dataHash: olds.dataHash, [idKey(kind)]: id, [nameKey(kind)]: olds[nameKey(kind)] }) };
        },

        async delete(id, props) {
            const name = String(props[nameKey(kind)] ?? id);
            const deadline = Date.now() + IN_USE_RETRY_MS;
            // Removing is idempotent (404 = gone), so each attempt takes a fresh session: a connection
            // lost meanwhile is retried (on another manager when there are alternates), like "in use".
            for (;;) {
                const r = await withSession(toTarget(props), async (s): Promise<RemoveAttempt> => {
                    const docker = s.docker();
                    try {
                        await api(docker, kind, id).remove();
                        return { done: true };
                    } catch (err) {
                        const outcome = removeOutcome(err);
                        if (outcome === "gone") return { done: true };
                        const why = `removing ${kind} ${name} failed: ${daemonMessage(err)}`;
                        if (outcome !== "in-use") return { done: false, fatal: outcome === "fatal", why };
                        // A service update that moves off this object may still be rolling.
                        const users = servicesUsing(kind, id, (await docker.listServices().catch(() => [])) as ServiceView[]);
                        return { done: false, why: inUseMessage(kind, name, users, daemonMessage(err)) };
                    }
                }).catch((err: Error): RemoveAttempt => {
                    // A pinned host key that does not match, or a key refused, is not retried.
                    return { done: false, fatal: removeOutcome(err) === "fatal", why: `removing ${kind} ${name} failed: ${err.message}` };
                });
                if (r.done) return;
                if (r.fatal || Date.now() > deadline) throw new Error(r.why);
                await sleep(2000);
            }
        },
    };
}
