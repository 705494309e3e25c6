// The `swarm-etl:postgres` slice of the stack config (zod), with its defaults. Problems that need
// the rest of the config (nodes, labels, images) are reported by the stack schema through
// `postgresStackProblems`, with the same messages the component gives (validate.ts).
import { z } from "zod";
import { SCHEDULER_IMAGE } from "../scheduler/labels";
import { cronProblem, DEFAULT_RETENTION, DEFAULT_SCHEDULES, restoreProblems, s3Problems } from "./backup";
import { DatabaseSpec, DEFAULT_FAILOVER } from "./render";
import { DEFAULT_MEMBER_RESOURCES, postgresProblems } from "./validate";

/** The label a node needs to run a member / an etcd member. */
export const MEMBER_LABEL = "swarm-etl.postgres";
export const DCS_LABEL = "swarm-etl.etcd";
/** The label of the node that holds the backup repository. */
export const BACKUP_LABEL = "swarm-etl.backup";
/** The stack's cluster (and its stanza in the repository). */
export const CLUSTER_NAME = "pg";
/** The images the stack deploys, by their name in `swarm-etl:images` (images/build.sh writes them). */
export const POSTGRES_IMAGES = { postgres: "postgres", etcd: "postgres-etcd", router: "postgres-router" } as const;

export const DEFAULT_DATABASES: DatabaseSpec[] = [
    { name: "warehouse", owner: "warehouse" },
    { name: "keycloak", owner: "keycloak" },
];
export const DEFAULT_ROLES: { name: string; grants: { database: string; privileges: "read" | "write"; schemas?: string[] }[] }[] = [
    // The ETL job loads the star schema in `flights`; analysts read it.
    { name: "etl_writer", grants: [{ database: "warehouse", privileges: "write", schemas: ["flights"] }] },
    { name: "analyst", grants: [{ database: "warehouse", privileges: "read", schemas: ["flights"] }] },
];

const nodeName = z.string().min(1);
const grant = z.strictObject({
    database: z.string(),
    /** read: SELECT; write: SELECT, INSERT, UPDATE, DELETE, TRUNCATE and CREATE in the schemas. */
    privileges: z.enum(["read", "write"]),
    /** @default - ["public"] */
    schemas: z.array(z.string()).optional(),
});

export const postgresConfigSchema = z.strictObject({
    /** Deploy the PostgreSQL cluster. @default - true */
    enabled: z.boolean().default(true),
    /** Nodes of the PostgreSQL members, one member each. @default - the nodes labelled swarm-etl.postgres=true */
    members: z.array(nodeName).optional(),
    /** Nodes of the etcd members (1, 3 or 5). @default - the nodes labelled swarm-etl.etcd=true, else the first 3 managers */
    dcs: z.array(nodeName).optional(),
    /** Synchronous replication. @default - true with 2 or more members */
    synchronous: z.boolean().optional(),
    /** The member node that should be primary; changing it switches over. @default - Patroni's choice */
    primary: nodeName.optional(),
    /** PostgreSQL parameters (an allow-list with types: docs/postgres.md). @default - none */
    parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** @default - warehouse (owner warehouse) and keycloak (owner keycloak) */
    databases: z.array(z.strictObject({ name: z.string(), owner: z.string() })).default(DEFAULT_DATABASES),
    /** @default - etl_writer (write on warehouse's schema flights), analyst (read on it) */
    roles: z
        .array(
            z.strictObject({
                name: z.string(),
                /** @default - true */
                login: z.boolean().optional(),
                connectionLimit: z.number().int().min(-1).max(10000).optional(),
                grants: z.array(grant).default([]),
            }),
        )
        .default(DEFAULT_ROLES),
    /** Patroni's failover timing (seconds). @default - ttl 10, loopWait 2, retryTimeout 4 */
    failover: z
        .strictObject({ ttl: z.number().int().min(5).max(300), loopWait: z.number().int().min(1).max(60), retryTimeout: z.number().int().min(1).max(120) })
        .default(DEFAULT_FAILOVER),
    /**
     * What each member's container may use: CPUs and memory (its service's limits; every member's
     * node must have them). shared_buffers may take at most half of the memory. @default - 1 CPU, 1G
     */
    resources: z
        .strictObject({
            cpus: z.number().positive().max(1024).default(DEFAULT_MEMBER_RESOURCES.cpus),
            memory: z.string().default(DEFAULT_MEMBER_RESOURCES.memory),
        })
        .default(DEFAULT_MEMBER_RESOURCES),
    /** Router tasks. @default - 2 */
    routerReplicas: z.number().int().min(1).max(9).default(2),
    /** WAL archiving and scheduled backups (pgBackRest), to a repository on a node without a member. */
    backup: z
        .strictObject({
            /** @default - true */
            enabled: z.boolean().default(true),
            /** The repository's node. @default - the node labelled swarm-etl.backup=true, else the first active node that runs no member */
            node: nodeName.optional(),
            /** A host path on that node (an NFS or SAN mount) instead of a local volume. @default - a local volume */
            path: z.string().optional(),
            /** Cron (five fields, UTC). @default - full "0 1 * * 0", diff "0 1 * * 1-6" */
            schedules: z.strictObject({ full: z.string().default(DEFAULT_SCHEDULES.full), diff: z.string().default(DEFAULT_SCHEDULES.diff) }).default(DEFAULT_SCHEDULES),
            /** Backups kept. @default - 2 full, 6 differential */
            retention: z.strictObject({ full: z.number().int().min(1).max(100).default(DEFAULT_RETENTION.full), diff: z.number().int().min(1).max(400).default(DEFAULT_RETENTION.diff) }).default(DEFAULT_RETENTION),
            /** Finished runs of each schedule kept, with their logs. @default - 3 */
            keepRuns: z.number().int().min(1).max(50).default(3),
            /**
             * Keep the repository in S3-compatible storage (HTTPS) instead of the node's volume or
             * `path`; the node still runs the repository host. Set secretAccessKey with `pulumi config
             * set --secret --path postgres.backup.s3.secretAccessKey`. @default - none
             */
            s3: z
                .strictObject({
                    endpoint: z.string(),
                    bucket: z.string(),
                    region: z.string().optional(),
                    path: z.string().optional(),
                    uriStyle: z.enum(["host", "path"]).optional(),
                    verifyTls: z.boolean().optional(),
                    ca: z.string().optional(),
                    accessKeyId: z.string(),
                    secretAccessKey: z.string().min(1),
                })
                .optional(),
        })
        .default({ enabled: true, schedules: DEFAULT_SCHEDULES, retention: DEFAULT_RETENTION, keepRuns: 3 }),
    /**
     * Bootstrap the cluster from the repository's backups instead of initdb (a new or wiped cluster
     * only; docs/postgres.md, "Restore"). @default - none
     */
    restore: z
        .strictObject({
            /** @default - "pg" (this stack's cluster) */
            stanza: z.string().default(CLUSTER_NAME),
            /** @default - the end of the archived WAL */
            target: z.union([z.strictObject({ time: z.string() }), z.strictObject({ name: z.string() })]).optional(),
        })
        .optional(),
});

export type PostgresConfig = z.output<typeof postgresConfigSchema>;

interface NodeView {
    name: string;
    role: "manager" | "worker";
    labels: Record<string, string>;
    availability?: string;
}

/** Members and DCS nodes with their defaults applied. */
export function resolvePostgresNodes(pg: PostgresConfig, nodes: readonly NodeView[]): { members: string[]; dcs: string[] } {
    const labelled = (label: string) => nodes.filter((n) => n.labels[label] === "true").map((n) => n.name);
    // Unlabelled: the first 3 nodes that run tasks, managers first (1 when fewer than 3 do).
    const active = nodes.filter((n) => n.availability !== "drain").map((n) => n.name);
    const dcsDefault = labelled(DCS_LABEL).length ? labelled(DCS_LABEL) : active.slice(0, active.length >= 3 ? 3 : 1);
    return { members: pg.members ?? labelled(MEMBER_LABEL), dcs: pg.dcs ?? dcsDefault };
}

/** The repository's node with its default applied (undefined: none fits). */
export function resolveBackupNode(pg: PostgresConfig, nodes: readonly NodeView[]): string | undefined {
    if (pg.backup.node) return pg.backup.node;
    const labelled = nodes.find((n) => n.labels[BACKUP_LABEL] === "true");
    if (labelled) return labelled.name;
    const members = new Set(resolvePostgresNodes(pg, nodes).members);
    return nodes.find((n) => n.availability !== "drain" && !members.has(n.name))?.name;
}

/** Every problem of the slice that needs the rest of the config, as `[path under postgres, message]`. */
export function postgresStackProblems(pg: PostgresConfig, nodes: readonly NodeView[], images: Record<string, string>, profile: string): [(string | number)[], string][] {
    if (!pg.enabled) return [];
    const out: [(string | number)[], string][] = [];
    const { members, dcs } = resolvePostgresNodes(pg, nodes);
    if (pg.members === undefined && members.length === 0) {
        out.push([["members"], `no node is labelled ${MEMBER_LABEL}=true; fix: label the nodes that should run PostgreSQL (labels: {${MEMBER_LABEL}: "true"}), list them under postgres.members, or set postgres.enabled false`]);
    }
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const splitPath = (p: string): (string | number)[] => p.split(/\.|\[|\]/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    for (const [path, msg] of postgresProblems({ ...pg, members, dcs }, nodes.map((n) => n.name))) {
        // Reported above when no node is labelled; an explicit empty list gets postgresProblems' message.
        if (path === "members" && pg.members === undefined && members.length === 0) continue;
        out.push([splitPath(path), msg]);
    }
    const needLabel = (list: string[], key: "members" | "dcs", label: string) =>
        list.forEach((m, i) => {
            const node = byName.get(m);
            if (node && node.labels[label] !== "true") out.push([[key, i], `${m} lacks the node label ${label}=true; fix: add labels: {${label}: "true"} to ${m}, or choose a labelled node`]);
            if (node && node.availability === "drain") out.push([[key, i], `${m} is drained, so its member could not run; fix: set its availability active, or choose another node`]);
        });
    needLabel(members, "members", MEMBER_LABEL);
    if (pg.dcs !== undefined || nodes.some((n) => n.labels[DCS_LABEL] === "true")) needLabel(dcs, "dcs", DCS_LABEL);
    if (pg.backup.enabled) {
        const node = resolveBackupNode(pg, nodes);
        if (!node) out.push([["backup", "node"], `no node can hold the backup repository (every active node runs a member); fix: add a node labelled ${BACKUP_LABEL}=true, set postgres.backup.node, or set postgres.backup.enabled false`]);
        else if (!byName.has(node)) out.push([["backup", "node"], `${JSON.stringify(node)} is not a node of the stack (nodes: ${nodes.map((n) => n.name).join(", ")}); fix: name one of them`]);
        else if (members.includes(node)) out.push([["backup", "node"], `${node} runs a PostgreSQL member: losing it could lose the primary and its backups together; fix: choose a node without a member`]);
        else if (byName.get(node)!.availability === "drain") out.push([["backup", "node"], `${node} is drained, so the repository could not run there; fix: choose an active node (label it ${BACKUP_LABEL}: "true")`]);
        if (pg.backup.path !== undefined && !pg.backup.path.startsWith("/")) out.push([["backup", "path"], `${JSON.stringify(pg.backup.path)} is not an absolute path; fix: e.g. /srv/pgbackrest (a mount on the repository's node)`]);
        if (pg.backup.s3) {
            if (pg.backup.path !== undefined) out.push([["backup", "path"], `is set, and so is postgres.backup.s3: the repository is in one place; fix: remove one of them`]);
            for (const [k, why] of s3Problems(pg.backup.s3)) out.push([["backup", "s3", k], why]);
        }
        for (const kind of ["full", "diff"] as const) {
            const why = cronProblem(pg.backup.schedules[kind]);
            if (why) out.push([["backup", "schedules", kind], why]);
        }
    }
    if (pg.restore) {
        if (!pg.backup.enabled) out.push([["restore"], `restores from the backup repository, but postgres.backup.enabled is false; fix: enable backups (the repository), or remove postgres.restore`]);
        for (const [path, msg] of restoreProblems(pg.restore, [CLUSTER_NAME])) out.push([path.split("."), msg]);
    }
    for (const img of [...Object.values(POSTGRES_IMAGES), ...(pg.backup.enabled ? [SCHEDULER_IMAGE] : [])]) {
        const ref = images[img];
        if (!ref) out.push([["images", img], `is not set, and postgres is enabled; fix: run \`images/build.sh --registry <registry> --via <manager> --stack <stack>\` (the lab: \`images/build.sh --lab\`), which records it`]);
        else if (profile !== "lab" && !/@sha256:[0-9a-f]{64}$/.test(ref)) out.push([["images", img], `${JSON.stringify(ref)} is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)`]);
    }
    return out;
}
