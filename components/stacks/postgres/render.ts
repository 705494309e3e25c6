// The pure part of the PostgreSQL cluster: names, and the files its services read (Patroni's
// configuration, the router's spec, the reconcile job's spec) and the environment of the DCS members.
// No password is in any of them: each names the Swarm secret file that holds it.
import * as YAML from "yaml";
import type { ParameterValue } from "./parameters";
import { DATA_DIR, PG_UID, SECRETS_DIR } from "./paths";
export { DATA_DIR, PG_UID, SECRETS_DIR };
import { archiveParameters, RestoreSpec, restoreBootstrap, restoreCommand } from "./backup";

export const PG_PORT = 5432;
export const REPLICA_PORT = 5433;
export const PATRONI_PORT = 8008;
export const ROUTER_HEALTH_PORT = 8404;

export interface GrantSpec {
    readonly database: string;
    readonly privileges: "read" | "write";
    /** @default - ["public"] */
    readonly schemas?: readonly string[];
}
export interface RoleSpec {
    readonly name: string;
    /** @default - true */
    readonly login?: boolean;
    readonly grants?: readonly GrantSpec[];
    readonly connectionLimit?: number;
}
export interface DatabaseSpec {
    readonly name: string;
    readonly owner: string;
}
export interface FailoverTiming {
    /** Leader key lifetime in the DCS (s). */
    readonly ttl: number;
    /** Patroni's loop (s). */
    readonly loopWait: number;
    /** DCS and PostgreSQL operation retry window (s). */
    readonly retryTimeout: number;
}

/** Fails over in ~12 s when a primary's node dies (Patroni's 30/10/10 takes ~40 s). */
export const DEFAULT_FAILOVER: FailoverTiming = { ttl: 10, loopWait: 2, retryTimeout: 4 };

/** Everything the renderers need, already validated. */
export interface PostgresPlan {
    readonly name: string;
    /** Node names of the members, in order. */
    readonly members: readonly string[];
    /** Node names of the DCS members (odd). */
    readonly dcs: readonly string[];
    readonly synchronous: boolean;
    readonly parameters: Readonly<Record<string, ParameterValue>>;
    readonly databases: readonly DatabaseSpec[];
    readonly roles: readonly RoleSpec[];
    readonly failover: FailoverTiming;
    /** Node name of the member that should be primary (switchover on change). */
    readonly primary?: string;
    /** WAL archiving and backups to this pgBackRest repository (service name), stanza = name. */
    readonly backupRepository?: string;
    /** Bootstrap from backups (instead of initdb). */
    readonly restore?: RestoreSpec;
}

/** Service and object names, derived from the component's name. */
export const names = (name: string) => ({
    network: `${name}-net`,
    member: (node: string) => `${name}-${node}`,
    memberVolume: (node: string) => `${name}-${node}-data`,
    dcs: (node: string) => `${name}-etcd-${node}`,
    dcsVolume: (node: string) => `${name}-etcd-${node}-data`,
    router: `${name}-router`,
    reconcile: `${name}-reconcile`,
    patroniConfig: `${name}-patroni`,
    routerConfig: `${name}-router`,
    reconcileConfig: `${name}-reconcile`,
    backrestConfig: `${name}-pgbackrest`,
    /** The backup job (init) and the scheduled templates (full, diff). */
    backupJob: (kind: string) => `${name}-backup-${kind}`,
    /** Secret names: superuser, replication, rewind, the REST API, and one per login role. */
    secret: (what: string) => `${name}-${what}`,
});

/** The secrets the members and the job read, as `what` → file under /run/secrets. */
export const systemSecrets = ["superuser", "replication", "rewind", "restapi"] as const;
export const secretFile = (name: string, what: string) => `${SECRETS_DIR}/${name}-${what}`;
export const roleSecret = (role: string) => `role-${role}`;

/** Login roles: every role with login (the default), and every database owner. */
export function loginRoles(plan: Pick<PostgresPlan, "roles" | "databases">): RoleSpec[] {
    const roles = new Map<string, RoleSpec>();
    for (const d of plan.databases) roles.set(d.owner, { name: d.owner, login: true });
    for (const r of plan.roles) roles.set(r.name, { ...roles.get(r.name), ...r, login: r.login ?? true });
    return [...roles.values()];
}

/** Patroni's configuration (the Swarm config every member mounts); member name and addresses come from env. */
export function patroniConfig(plan: PostgresPlan): string {
    const n = names(plan.name);
    const file = (what: string) => secretFile(plan.name, what);
    const doc = {
        scope: plan.name,
        namespace: "/swarm-etl/",
        restapi: {
            listen: `0.0.0.0:${PATRONI_PORT}`,
            // GET (health, /primary, /replica) stays open for the router; changes need the password.
            authentication: { username: "patroni", password_file: file("restapi") },
        },
        ctl: { authentication: { username: "patroni", password_file: file("restapi") } },
        etcd3: { hosts: plan.dcs.map((d) => `${n.dcs(d)}:2379`) },
        bootstrap: {
            dcs: dcsSettings(plan),
            initdb: [{ encoding: "UTF8" }, { locale: "C.UTF-8" }, "data-checksums"],
            ...(plan.restore ? restoreBootstrap(plan.restore) : {}),
        },
        postgresql: {
            listen: `0.0.0.0:${PG_PORT}`,
            data_dir: `${DATA_DIR}/pgdata`,
            bin_dir: "/usr/lib/postgresql/15/bin",
            pgpass: "/run/patroni/pgpass",
            authentication: {
                superuser: { username: "postgres", password_file: file("superuser") },
                replication: { username: "replicator", password_file: file("replication") },
                rewind: { username: "rewinder", password_file: file("rewind") },
            },
            parameters: { unix_socket_directories: "/run/patroni", password_encryption: "scram-sha-256" },
            pg_hba: [
                "local all postgres peer",
                "local all all scram-sha-256",
                "host replication replicator 0.0.0.0/0 scram-sha-256",
                "host all all 0.0.0.0/0 scram-sha-256",
            ],
            use_unix_socket: true,
            // A replica that fell behind its primary's WAL catches up from the archive.
            ...(plan.backupRepository ? { recovery_conf: { restore_command: restoreCommand(plan.name) } } : {}),
            remove_data_directory_on_rewind_failure: true,
            remove_data_directory_on_diverged_timelines: true,
        },
        watchdog: { mode: "off" as const },
        tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    };
    // YAML 1.1 (what Patroni's PyYAML reads): "on" and "off" stay strings.
    return YAML.stringify(doc, { version: "1.1" });
}

/** The settings kept in the DCS (bootstrap; the reconcile job applies later changes). */
export function dcsSettings(plan: PostgresPlan) {
    return {
        ttl: plan.failover.ttl,
        loop_wait: plan.failover.loopWait,
        retry_timeout: plan.failover.retryTimeout,
        maximum_lag_on_failover: 1048576,
        synchronous_mode: plan.synchronous,
        synchronous_mode_strict: false,
        postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: {
                wal_level: "replica",
                hot_standby: "on",
                wal_log_hints: "on",
                max_wal_senders: 10,
                max_replication_slots: 10,
                ...(plan.backupRepository ? archiveParameters(plan.name) : {}),
                ...plan.parameters,
            },
        },
    };
}

/** Environment of one Patroni member: its name and the addresses others reach it on. */
export function memberEnv(plan: PostgresPlan, node: string): Record<string, string> {
    const member = names(plan.name).member(node);
    return {
        PATRONI_NAME: member,
        PATRONI_RESTAPI_CONNECT_ADDRESS: `${member}:${PATRONI_PORT}`,
        PATRONI_POSTGRESQL_CONNECT_ADDRESS: `${member}:${PG_PORT}`,
    };
}

/** etcd's own arguments: the cluster token (an identifier that keeps clusters apart, not a secret). */
export const dcsArgs = (plan: PostgresPlan) => ["--initial-cluster-token", `${plan.name}-etcd`];

/** Environment of one etcd member (a cluster of `plan.dcs`, found by service name). */
export function dcsEnv(plan: PostgresPlan, node: string): Record<string, string> {
    const n = names(plan.name);
    const self = n.dcs(node);
    return {
        ETCD_NAME: self,
        ETCD_DATA_DIR: "/var/lib/etcd/data",
        ETCD_LISTEN_PEER_URLS: "http://0.0.0.0:2380",
        ETCD_LISTEN_CLIENT_URLS: "http://0.0.0.0:2379",
        ETCD_ADVERTISE_CLIENT_URLS: `http://${self}:2379`,
        ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${self}:2380`,
        ETCD_INITIAL_CLUSTER: plan.dcs.map((d) => `${n.dcs(d)}=http://${n.dcs(d)}:2380`).join(","),
        ETCD_INITIAL_CLUSTER_STATE: "new",
        ETCD_AUTO_COMPACTION_RETENTION: "1",
        ETCD_QUOTA_BACKEND_BYTES: String(512 * 1024 * 1024),
    };
}

/** The router's spec (images/router/bin/swarm-etl-pg-router): the members it checks and the ports. */
export function routerSpec(plan: PostgresPlan): string {
    const n = names(plan.name);
    const spec = {
        members: plan.members.map((m) => n.member(m)),
        port: PG_PORT,
        patroniPort: PATRONI_PORT,
        primaryPort: PG_PORT,
        replicaPort: REPLICA_PORT,
        healthPort: ROUTER_HEALTH_PORT,
    };
    return JSON.stringify(spec, null, 2) + "\n";
}

/** The reconcile job's spec: DCS settings, the wanted primary, roles, databases and grants. */
export function reconcileSpec(plan: PostgresPlan): string {
    const n = names(plan.name);
    const roles = loginRoles(plan).map((r) => ({
        name: r.name,
        login: r.login !== false,
        ...(r.login !== false ? { passwordFile: secretFile(plan.name, roleSecret(r.name)) } : {}),
        ...(r.connectionLimit !== undefined ? { connectionLimit: r.connectionLimit } : {}),
    }));
    const grants = plan.roles.flatMap((r) =>
        (r.grants ?? []).map((g) => ({
            role: r.name,
            database: g.database,
            privileges: g.privileges,
            schemas: g.schemas ?? ["public"],
            // Tables made by the writers of a database are readable by its readers.
            tableCreators: plan.roles.filter((w) => (w.grants ?? []).some((x) => x.database === g.database && x.privileges === "write")).map((w) => w.name),
        })),
    );
    return JSON.stringify(
        {
            host: n.router,
            port: PG_PORT,
            superuser: "postgres",
            superuserPasswordFile: secretFile(plan.name, "superuser"),
            patroniConfig: "/etc/patroni/patroni.yml",
            dcs: dcsSettings(plan),
            primary: plan.primary ? n.member(plan.primary) : undefined,
            roles,
            databases: plan.databases,
            grants,
            timeoutSeconds: 300,
        },
        null,
        2,
    );
}
