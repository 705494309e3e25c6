// The pure part of backups (pgBackRest): the repository's and the members' pgbackrest.conf, the
// names, the archive and restore commands, and the checks of schedules and restore targets.
// Members and the repository talk TLS (pgBackRest's own server, port 8432): each side proves itself
// with the repository's generated identity (one Swarm secret: certificate and key), and each
// server authorizes only that identity's CN. No password is in any of these files.
import { scheduleProblem } from "../scheduler/labels";
import { DATA_DIR, SECRETS_DIR } from "./paths";

export const BACKREST_PORT = 8432;
export const BACKREST_CONF = "/etc/pgbackrest/pgbackrest.conf";
export const REPO_PATH = "/var/lib/pgbackrest";
export const PGDATA = `${DATA_DIR}/pgdata`;
export const PG_SOCKET = "/run/patroni";
/** The CN of the generated identity; servers authorize only it. */
export const TLS_CN = "pgbackrest";

export interface Retention {
    /** Full backups kept (older ones, and their WAL, expire). */
    readonly full: number;
    /** Differential backups kept per full. */
    readonly diff: number;
}
export const DEFAULT_RETENTION: Retention = { full: 2, diff: 6 };

export interface BackupSchedules {
    /** Cron (five fields, UTC) of the full backup. */
    readonly full: string;
    /** Cron of the differential backup. */
    readonly diff: string;
}
/** Full on Sunday 01:00 UTC, differential the other days. */
export const DEFAULT_SCHEDULES: BackupSchedules = { full: "0 1 * * 0", diff: "0 1 * * 1-6" };

/** Where a restore stops: a timestamp, or a restore point made with pg_create_restore_point(). */
export type RestoreTarget = { readonly time: string } | { readonly name: string };
export interface RestoreSpec {
    /** The stanza (the cluster's name) whose backups and WAL to restore from. */
    readonly stanza: string;
    /** @default - the end of the archived WAL (latest) */
    readonly target?: RestoreTarget;
}

/** S3-compatible object storage for the repository (instead of the node's volume or path). */
export interface S3Storage {
    /** host or host:port of the endpoint (HTTPS), e.g. s3.eu-central-1.amazonaws.com */
    readonly endpoint: string;
    readonly bucket: string;
    /** @default - "us-east-1" */
    readonly region?: string;
    /** The repository's path in the bucket. @default - "/pgbackrest" */
    readonly path?: string;
    /** "host" (bucket.endpoint) or "path" (endpoint/bucket, most self-hosted stores). @default - "host" */
    readonly uriStyle?: "host" | "path";
    /** Check the endpoint's certificate. @default - true */
    readonly verifyTls?: boolean;
    /** PEM of the CA that signed the endpoint's certificate (a private CA). @default - the system's CAs */
    readonly ca?: string;
}
export const S3_DEFAULTS = { region: "us-east-1", path: "/pgbackrest", uriStyle: "host" } as const;
/** Where the repository host finds the S3 credentials (pgBackRest reads every *.conf there). */
export const S3_CREDENTIALS_FILE = "/etc/pgbackrest/conf.d/s3-credentials.conf";
export const S3_CA_FILE = "/etc/pgbackrest/s3-ca.pem";

export interface RepositoryPlan {
    readonly name: string;
    /** Member hosts (service names) of every stanza the repository keeps. */
    readonly stanzas: Readonly<Record<string, readonly string[]>>;
    readonly retention: Retention;
    /** @default - the repository's volume or path */
    readonly s3?: S3Storage;
}

/** pgBackRest's repository options for S3 storage (the credentials come from S3_CREDENTIALS_FILE). */
export function s3Options(s3: S3Storage): Record<string, string | number> {
    const [host, port] = s3.endpoint.split(":");
    return {
        "repo1-type": "s3",
        "repo1-path": s3.path ?? S3_DEFAULTS.path,
        "repo1-s3-bucket": s3.bucket,
        "repo1-s3-endpoint": host,
        "repo1-s3-region": s3.region ?? S3_DEFAULTS.region,
        "repo1-s3-uri-style": s3.uriStyle ?? S3_DEFAULTS.uriStyle,
        ...(port ? { "repo1-storage-port": Number(port) } : {}),
        ...(s3.verifyTls === false ? { "repo1-storage-verify-tls": "n" } : {}),
        ...(s3.ca ? { "repo1-storage-ca-file": S3_CA_FILE } : {}),
    };
}

/** The credentials file (a Swarm secret, mounted only where pgBackRest writes the repository). */
export function s3CredentialsConf(accessKeyId: string, secretAccessKey: string): string {
    return `[global]\nrepo1-s3-key=${accessKeyId}\nrepo1-s3-key-secret=${secretAccessKey}\n`;
}

/** Problems of an S3 storage definition, each with its fix. */
export function s3Problems(s3: S3Storage & { accessKeyId?: string }): [string, string][] {
    const out: [string, string][] = [];
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(s3.endpoint) || /^https?:/.test(s3.endpoint))
        out.push(["endpoint", `${JSON.stringify(s3.endpoint)} is not host or host:port; fix: e.g. s3.eu-central-1.amazonaws.com or minio.internal:9000 (HTTPS is implied)`]);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket) || s3.bucket.includes(".."))
        out.push(["bucket", `${JSON.stringify(s3.bucket)} is not an S3 bucket name; fix: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit`]);
    if (s3.path !== undefined && !/^\/[^\0]*$/.test(s3.path)) out.push(["path", `${JSON.stringify(s3.path)} does not start with /; fix: e.g. /pgbackrest`]);
    if (s3.region !== undefined && !/^[a-z0-9-]+$/.test(s3.region)) out.push(["region", `${JSON.stringify(s3.region)} is not a region name; fix: e.g. eu-central-1`]);
    if (s3.ca !== undefined && !s3.ca.includes("-----BEGIN CERTIFICATE-----")) out.push(["ca", "is not a PEM certificate; fix: the CA's certificate, -----BEGIN CERTIFICATE----- included"]);
    if (s3.accessKeyId !== undefined && !/^[A-Za-z0-9+/=._-]{3,128}$/.test(s3.accessKeyId)) out.push(["accessKeyId", `${JSON.stringify(s3.accessKeyId)} is not an access key id; fix: the key id your storage issued`]);
    return out;
}

export const repoNames = (name: string) => ({
    service: name,
    network: `${name}-net`,
    volume: `${name}-data`,
    tls: `${name}-tls`,
    config: `${name}-conf`,
    exporter: `${name}-exporter`,
});

/** The port of the repository's exporter (images/postgres/bin/swarm-etl-pgbackrest-exporter). */
export const BACKUP_EXPORTER_PORT = 9854;

/** The identity file (certificate and key in one PEM) every side mounts. */
export const tlsFile = (repo: string) => `${SECRETS_DIR}/${repoNames(repo).tls}`;

/** Every DNS name the identity serves: the repository and every member of every stanza. */
export const tlsDnsNames = (plan: RepositoryPlan) => [repoNames(plan.name).service, ...new Set(Object.values(plan.stanzas).flat())];

const ini = (sections: [string, Record<string, string | number>][]) =>
    sections.map(([s, kv]) => `[${s}]\n${Object.entries(kv).map(([k, v]) => `${k}=${v}`).join("\n")}\n`).join("\n");

function tlsServer(repo: string): Record<string, string | number> {
    const f = tlsFile(repo);
    return { "tls-server-address": "*", "tls-server-port": BACKREST_PORT, "tls-server-cert-file": f, "tls-server-key-file": f, "tls-server-ca-file": f, "tls-server-auth": `${TLS_CN}=*` };
}
const logging = { "log-level-console": "info", "log-level-stderr": "off", "log-level-file": "off" };

/** The repository host's pgbackrest.conf: the repository, its retention, and every stanza's members. */
export function repositoryConf(plan: RepositoryPlan): string {
    const f = tlsFile(plan.name);
    const stanza = (hosts: readonly string[]): Record<string, string | number> =>
        Object.assign(
            {},
            ...hosts.map((h, i) => ({
                [`pg${i + 1}-host`]: h,
                [`pg${i + 1}-host-type`]: "tls",
                [`pg${i + 1}-host-port`]: BACKREST_PORT,
                [`pg${i + 1}-host-cert-file`]: f,
                [`pg${i + 1}-host-key-file`]: f,
                [`pg${i + 1}-host-ca-file`]: f,
                [`pg${i + 1}-path`]: PGDATA,
                [`pg${i + 1}-socket-path`]: PG_SOCKET,
            })),
        );
    return (
        `# ${plan.name}: written by swarm-etl (components/stacks/postgres/backup.ts)\n` +
        ini([
            [
                "global",
                {
                    ...(plan.s3 ? s3Options(plan.s3) : { "repo1-path": REPO_PATH }),
                    "repo1-retention-full": plan.retention.full,
                    "repo1-retention-diff": plan.retention.diff,
                    // Backups of one stanza never overlap, also across job containers (the node's
                    // volume or path holds the locks, also when the repository is in S3).
                    "lock-path": `${REPO_PATH}/lock`,
                    "start-fast": "y",
                    "compress-type": "zst",
                    "process-max": 2,
                    ...logging,
                    ...tlsServer(plan.name),
                },
            ],
            ...Object.entries(plan.stanzas).map(([s, hosts]) => [s, stanza(hosts)] as [string, Record<string, string | number>]),
        ])
    );
}

/** A member's pgbackrest.conf: the repository host, its own stanza (and the one it restores from). */
export function memberConf(repo: string, stanza: string, restoreFrom?: string): string {
    const f = tlsFile(repo);
    const local = { "pg1-path": PGDATA, "pg1-socket-path": PG_SOCKET };
    return (
        `# ${stanza} → ${repo}: written by swarm-etl (components/stacks/postgres/backup.ts)\n` +
        ini([
            [
                "global",
                {
                    "repo1-host": repoNames(repo).service,
                    "repo1-host-type": "tls",
                    "repo1-host-port": BACKREST_PORT,
                    "repo1-host-cert-file": f,
                    "repo1-host-key-file": f,
                    "repo1-host-ca-file": f,
                    "archive-async": "n",
                    "compress-type": "zst",
                    ...logging,
                    ...tlsServer(repo),
                },
            ],
            [stanza, local],
            ...(restoreFrom && restoreFrom !== stanza ? [[restoreFrom, local] as [string, Record<string, string>]] : []),
        ])
    );
}

/** PostgreSQL's archive settings for a stanza (kept in the DCS with the other parameters). */
export const archiveParameters = (stanza: string) => ({
    archive_mode: "on",
    archive_command: `pgbackrest --stanza=${stanza} archive-push %p`,
    // A quiet primary still closes a WAL segment every minute: the restore point of a PITR is at
    // most a minute behind.
    archive_timeout: 60,
});

/** A standby's and a restore's WAL source. */
export const restoreCommand = (stanza: string) => `pgbackrest --stanza=${stanza} archive-get %f "%p"`;

/** Patroni's bootstrap method that restores from a stanza instead of running initdb. */
export function restoreBootstrap(spec: RestoreSpec) {
    const t = spec.target;
    const args = ["swarm-etl-pg-restore", spec.stanza, ...(t ? ("time" in t ? ["time", t.time] : ["name", t.name]) : [])];
    return {
        method: "pgbackrest",
        pgbackrest: {
            command: args.map((a) => (/^[\w.:/-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" "),
            keep_existing_recovery_conf: false,
            recovery_conf: {
                restore_command: restoreCommand(spec.stanza),
                recovery_target_action: "promote",
                recovery_target_timeline: "latest",
                ...(t ? ("time" in t ? { recovery_target_time: t.time } : { recovery_target_name: t.name }) : {}),
            },
        },
    };
}

/** A backup schedule's problem (five fields, UTC), or undefined. */
export const cronProblem = (expr: unknown): string | undefined => scheduleProblem(expr, "UTC", { fields: ", UTC", example: '"0 1 * * 0" (Sundays 01:00)' });

/** A timestamp PostgreSQL and JavaScript both read, with its zone: 2026-12-01 12:00:00+00. */
function validTimestamp(time: unknown): boolean {
    const m = typeof time === "string" ? /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(Z|[+-]\d\d(?::?\d\d)?)$/.exec(time) : null;
    if (!m) return false;
    const zone = m[3] === "Z" ? "Z" : m[3].length === 3 ? `${m[3]}:00` : m[3].replace(/^([+-]\d\d)(\d\d)$/, "$1:$2");
    return !Number.isNaN(Date.parse(`${m[1]}T${m[2]}${zone}`));
}

const RESTORE_POINT = /^[\w.-]{1,63}$/;
/** Problems of a restore spec, as [path, message]. */
export function restoreProblems(spec: RestoreSpec, stanzas: readonly string[]): [string, string][] {
    const out: [string, string][] = [];
    if (!stanzas.includes(spec.stanza)) out.push(["restore.stanza", `${JSON.stringify(spec.stanza)} is not a stanza of the backup repository (it has ${stanzas.join(", ") || "none"}); fix: name the cluster whose backups to restore`]);
    const t = spec.target as Partial<{ time: string; name: string }> | undefined;
    if (t && t.time !== undefined && !validTimestamp(t.time)) {
        out.push(["restore.target.time", `${JSON.stringify(t.time)} is not a timestamp with its zone; fix: e.g. "2026-12-01 12:00:00+00"`]);
    }
    if (t && t.name !== undefined && !RESTORE_POINT.test(t.name)) out.push(["restore.target.name", `${JSON.stringify(t.name)} is not a restore point name (letters, digits, _ . -, at most 63); fix: the name given to pg_create_restore_point()`]);
    return out;
}
