// Checks of a PostgreSQL cluster's arguments that need no Swarm: each problem names the argument,
// the value and the fix. The stack schema (config.ts) reports the same problems under its keys.
import { byteSize } from "../../../providers/swarm/serviceUnits";
import { parameterBytes, parameterProblem } from "./parameters";
import type { DatabaseSpec, FailoverTiming, RoleSpec } from "./render";

/** A PostgreSQL identifier we create unquoted-safe: lower case, starts with a letter, ≤ 63 bytes. */
export const IDENTIFIER_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** Role names PostgreSQL or Patroni reserve. */
export const RESERVED_ROLES = new Set(["postgres", "replicator", "rewinder", "patroni", "public", "pg_monitor", "pg_read_all_data", "pg_write_all_data"]);

/** What each member's container may use (its service's limits). */
export interface MemberResources {
    /** CPUs (fractions allowed). */
    readonly cpus: number;
    /** Memory, a Docker size such as "4G". */
    readonly memory: string;
}
export const DEFAULT_MEMBER_RESOURCES: MemberResources = { cpus: 1, memory: "1G" };
/** Below this Patroni, PostgreSQL and pgBackRest's server do not start reliably. */
const MIN_MEMBER_MEMORY = 256 * 1024 ** 2;
const mib = (b: number) => (b >= 1024 ** 3 && b % 1024 ** 3 === 0 ? `${b / 1024 ** 3}G` : `${Math.ceil(b / 1024 ** 2)}M`);
const pgSize = (b: number) => (b % 1024 ** 3 === 0 ? `${b / 1024 ** 3}GB` : `${Math.floor(b / 1024 ** 2)}MB`);

/** The member's memory limit in bytes, or undefined when it is not a size. */
export function memberMemoryBytes(r: MemberResources): number | undefined {
    try {
        return byteSize(r.memory);
    } catch {
        return undefined;
    }
}

export interface PostgresShape {
    readonly members: readonly string[];
    readonly dcs: readonly string[];
    readonly synchronous?: boolean;
    readonly parameters?: Readonly<Record<string, unknown>>;
    readonly databases?: readonly DatabaseSpec[];
    readonly roles?: readonly RoleSpec[];
    readonly primary?: string;
    readonly failover?: FailoverTiming;
    readonly resources?: MemberResources;
}

/** Every problem, as `[path, message]` (path relative to the postgres arguments). */
export function postgresProblems(a: PostgresShape, nodes?: readonly string[]): [string, string][] {
    const p: [string, string][] = [];
    const known = nodes ? new Set(nodes) : undefined;
    if (a.members.length === 0) p.push(["members", "lists no node; fix: list the nodes that run a PostgreSQL member (2 or more for failover)"]);
    dupes(a.members).forEach((d) => p.push(["members", `lists ${d} twice; fix: one member per node`]));
    if (a.dcs.length % 2 === 0) p.push(["dcs", `${a.dcs.length} etcd members cannot survive the loss of one (etcd needs a majority); fix: list 1, 3 or 5 nodes`]);
    else if (a.dcs.length > 5) p.push(["dcs", `${a.dcs.length} etcd members slow every write down; fix: list 3 or 5 nodes`]);
    dupes(a.dcs).forEach((d) => p.push(["dcs", `lists ${d} twice; fix: one etcd member per node`]));
    if (known) {
        a.members.forEach((m, i) => known.has(m) || p.push([`members[${i}]`, `${m} is not a node of the cluster; fix: use one of ${[...known].join(", ")}`]));
        a.dcs.forEach((m, i) => known.has(m) || p.push([`dcs[${i}]`, `${m} is not a node of the cluster; fix: use one of ${[...known].join(", ")}`]));
    }
    if (a.synchronous && a.members.length < 2) p.push(["synchronous", `synchronous replication needs a standby, but there is ${a.members.length} member; fix: list 2 or more members, or set synchronous false`]);
    if (a.primary !== undefined && !a.members.includes(a.primary)) p.push(["primary", `${a.primary} is not a member; fix: use one of ${a.members.join(", ")}, or remove the key`]);
    for (const [k, v] of Object.entries(a.parameters ?? {})) {
        const problem = parameterProblem(k, v);
        if (problem) p.push([`parameters.${k}`, problem]);
    }
    const r = a.resources ?? DEFAULT_MEMBER_RESOURCES;
    if (!(typeof r.cpus === "number" && r.cpus > 0)) p.push(["resources.cpus", `${JSON.stringify(r.cpus)} is not a number of CPUs above 0; fix: e.g. 2 (fractions such as 0.5 are allowed)`]);
    const memory = memberMemoryBytes(r);
    if (memory === undefined) p.push(["resources.memory", `${JSON.stringify(r.memory)} is not a size; fix: a number with a unit, e.g. "4G" or "512M"`]);
    else if (memory < MIN_MEMBER_MEMORY) p.push(["resources.memory", `${JSON.stringify(r.memory)} is less than the 256M a member needs (PostgreSQL, Patroni and pgBackRest's server share it); fix: 256M or more, e.g. "1G"`]);
    else {
        // PostgreSQL's shared memory counts against the container's limit: past half of it the
        // backends' own memory does not fit and the kernel kills the member under load.
        const sb = a.parameters?.shared_buffers;
        const sbBytes = sb === undefined ? undefined : parameterBytes(sb as string | number, 8192);
        if (sbBytes !== undefined && sbBytes > memory / 2) {
            p.push(["parameters.shared_buffers", `${JSON.stringify(sb)} is more than half of each member's memory (postgres.resources.memory ${r.memory}): the connections' own memory would not fit beside it and the kernel would kill the member under load; fix: lower shared_buffers to at most ${pgSize(Math.floor(memory / 2))} (a quarter, ${pgSize(Math.floor(memory / 4))}, is usual), or raise postgres.resources.memory to at least ${mib(2 * sbBytes)}`]);
        }
    }
    const f = a.failover;
    if (f && f.loopWait + 2 * f.retryTimeout > f.ttl) {
        p.push(["failover", `ttl ${f.ttl} is shorter than loopWait + 2 × retryTimeout (${f.loopWait + 2 * f.retryTimeout}), which Patroni refuses; fix: raise ttl or lower loopWait/retryTimeout (e.g. ttl 10, loopWait 2, retryTimeout 4)`]);
    }
    const ident = (path: string, v: string, what: string) => {
        if (!IDENTIFIER_RE.test(v)) p.push([path, `${JSON.stringify(v)} is not a valid ${what} name; fix: lower-case letters, digits and _, starting with a letter or _, at most 63 characters`]);
        else if (RESERVED_ROLES.has(v) || v.startsWith("pg_")) {
            if (what === "role") p.push([path, `${JSON.stringify(v)} is reserved (PostgreSQL or Patroni uses it); fix: choose another name`]);
        }
    };
    const dbs = a.databases ?? [];
    const roles = a.roles ?? [];
    dbs.forEach((d, i) => {
        ident(`databases[${i}].name`, d.name, "database");
        ident(`databases[${i}].owner`, d.owner, "role");
        if (["postgres", "template0", "template1"].includes(d.name)) p.push([`databases[${i}].name`, `${JSON.stringify(d.name)} is PostgreSQL's own database; fix: choose another name`]);
    });
    dupes(dbs.map((d) => d.name)).forEach((d) => p.push(["databases", `lists ${d} twice; fix: one entry per database`]));
    dupes(roles.map((r) => r.name)).forEach((d) => p.push(["roles", `lists ${d} twice; fix: one entry per role`]));
    roles.forEach((r, i) => {
        ident(`roles[${i}].name`, r.name, "role");
        (r.grants ?? []).forEach((g, j) => {
            if (!dbs.some((d) => d.name === g.database)) p.push([`roles[${i}].grants[${j}].database`, `${JSON.stringify(g.database)} is not one of the databases; fix: use one of ${dbs.map((d) => d.name).join(", ") || "(none: add it under databases)"}`]);
            (g.schemas ?? []).forEach((s, k) => ident(`roles[${i}].grants[${j}].schemas[${k}]`, s, "schema"));
        });
    });
    return p;
}

/** The same problems as one list of messages, for the component's constructor. */
export function validatePostgresArgs(a: PostgresShape, nodes?: readonly string[]): string[] {
    return postgresProblems(a, nodes).map(([path, msg]) => `${path}: ${msg}`);
}

function dupes(xs: readonly string[]): string[] {
    const seen = new Set<string>();
    const out = new Set<string>();
    for (const x of xs) (seen.has(x) ? out : seen).add(x);
    return [...out];
}
