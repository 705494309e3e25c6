// PostgresCluster: PostgreSQL with automatic failover on Docker Swarm. Patroni runs one member per
// labelled node (one service each, pinned there with its own local volume), elects the primary in
// an etcd cluster of an odd number of members (also one pinned service each), and rewinds or
// re-clones a returning old primary. A router (kernel forwarding, steered by Patroni's REST API
// checked twice a second) gives one stable endpoint for the primary (`<name>-router:5432`) and one
// for the replicas (:5433).
// A reconcile job applies the DCS settings, the wanted primary (switchover), roles, databases and
// grants. Every password is a generated Swarm secret: no input, output or state holds one.
import * as pulumi from "@pulumi/pulumi";
import { Config, HostConnection, ImageCheck, Network, Secret, Service, Volume } from "../../../providers/swarm";
import { scheduledJobLabels } from "../scheduler/labels";
import { BACKREST_CONF, BackupSchedules, cronProblem, DEFAULT_SCHEDULES, memberConf, RestoreSpec, restoreProblems } from "./backup";
import type { MetricsTarget } from "../observability/render";
import type { PgBackupRepository } from "./backupRepository";
import type { ParameterValue } from "./parameters";
import {
    DATA_DIR,
    DEFAULT_FAILOVER,
    DatabaseSpec,
    dcsArgs,
    dcsEnv,
    FailoverTiming,
    loginRoles,
    memberEnv,
    names,
    PATRONI_PORT,
    PG_UID,
    patroniConfig,
    PostgresPlan,
    reconcileSpec,
    RoleSpec,
    roleSecret,
    routerSpec,
    systemSecrets,
} from "./render";
import { DEFAULT_MEMBER_RESOURCES, memberMemoryBytes, MemberResources, validatePostgresArgs } from "./validate";

export interface PostgresImages {
    /** PostgreSQL + Patroni + pgBackRest (components/stacks/postgres/images/postgres). */
    readonly postgres: pulumi.Input<string>;
    /** etcd (images/etcd). */
    readonly etcd: pulumi.Input<string>;
    /** The router (images/router): nftables forwarding driven by Patroni's REST API. */
    readonly router: pulumi.Input<string>;
}

export interface PostgresClusterArgs {
    /** A manager of the swarm (through the bastion), with the others as alternates. */
    readonly connection: HostConnection;
    /** SSH private key (secret). */
    readonly privateKey: pulumi.Input<string>;
    /** Each node's own connection, by node name: the volumes are made on their nodes. */
    readonly nodeConnections: Readonly<Record<string, HostConnection>>;
    readonly images: PostgresImages;
    /** Node names of the PostgreSQL members (one member each); the first bootstraps the cluster. */
    readonly members: readonly string[];
    /** Node names of the etcd members: 1, 3 or 5. */
    readonly dcs: readonly string[];
    /** Node label every member's node carries (an extra constraint `node.labels.<label>==true`). @default - none: the volume's node pins it */
    readonly memberLabel?: string;
    /** Node label every etcd member's node carries. @default - none: the volume's node pins it */
    readonly dcsLabel?: string;
    /** Synchronous replication: an acknowledged commit is on a standby too. @default - true with 2 or more members */
    readonly synchronous?: boolean;
    /** PostgreSQL parameters from the allow-list (parameters.ts). @default - none (PostgreSQL's defaults) */
    readonly parameters?: Readonly<Record<string, ParameterValue>>;
    /** Databases and their owners (login roles made for them). @default - none */
    readonly databases?: readonly DatabaseSpec[];
    /** Roles, with grants inside the databases. @default - none */
    readonly roles?: readonly RoleSpec[];
    /** Node of the member that should lead; a change switches over. @default - whoever Patroni elects */
    readonly primary?: string;
    /** Failover timing. @default - ttl 10 s, loop 2 s, retry 4 s (Patroni's 30/10/10 fails over in ~40 s) */
    readonly failover?: FailoverTiming;
    /** Each member's CPUs and memory (its service's limits); each member's node must have them. @default - 1 CPU, 1G */
    readonly resources?: MemberResources;
    /** Router tasks. @default - 2 */
    readonly routerReplicas?: number;
    /** Where the router's tasks may run (Swarm placement constraints, e.g. node.role==worker). @default - any node */
    readonly routerConstraints?: readonly string[];
    /** vip needs IPVS; the lab uses dnsrr. @default - vip */
    readonly endpointMode?: "vip" | "dnsrr";
    /** Encrypt the overlay network. @default - true */
    readonly encrypted?: boolean;
    /** WAL archiving and scheduled backups into a pgBackRest repository (stanza: the cluster's name). @default - none */
    readonly backup?: BackupArgs;
    /** Bootstrap from a stanza's backups instead of initdb (a new cluster only). @default - initdb */
    readonly restore?: RestoreSpec;
}

export interface BackupArgs {
    /** The repository; it must keep a stanza named like this cluster, with these members. */
    readonly repository: PgBackupRepository;
    /** @default - full Sundays 01:00 UTC, differential the other days at 01:00 */
    readonly schedules?: BackupSchedules;
    /** Finished runs of each schedule kept (with their logs). @default - 3 */
    readonly keepRuns?: number;
}

/** The validated plan; throws with every problem at once. */
export function planPostgres(name: string, args: PostgresClusterArgs): PostgresPlan {
    const problems = [...validatePostgresArgs(args, Object.keys(args.nodeConnections)), ...backupArgProblems(name, args)];
    if (problems.length) throw new Error(`PostgresCluster ${name}: ${problems.join("; ")}`);
    return {
        name,
        members: args.members,
        dcs: args.dcs,
        synchronous: args.synchronous ?? args.members.length > 1,
        parameters: args.parameters ?? {},
        databases: args.databases ?? [],
        roles: args.roles ?? [],
        failover: args.failover ?? DEFAULT_FAILOVER,
        primary: args.primary,
        backupRepository: args.backup?.repository.name,
        restore: args.restore,
    };
}

/** Problems of the backup and restore arguments against the repository. */
export function backupArgProblems(name: string, args: Pick<PostgresClusterArgs, "backup" | "restore" | "members">): string[] {
    const out: string[] = [];
    const repo = args.backup?.repository;
    if (args.restore && !repo) out.push("restore needs backup.repository (the repository the stanza is in)");
    if (!repo) return out;
    if (args.members.includes(repo.node)) out.push(`the backup repository's node ${repo.node} runs a member: losing that node could lose the primary and its backups together; fix: put the repository on a node without a member`);
    if (!repo.stanzas.includes(name)) out.push(`the backup repository ${repo.name} keeps no stanza ${name} (it has ${repo.stanzas.join(", ")}); fix: add ${name} and its members to the repository's stanzas`);
    if (args.restore) out.push(...restoreProblems(args.restore, repo.stanzas).map(([path, msg]) => `${path}: ${msg}`));
    for (const kind of ["full", "diff"] as const) {
        const expr = args.backup?.schedules?.[kind];
        const why = expr === undefined ? undefined : cronProblem(expr);
        if (why) out.push(`backup.schedules.${kind}: ${why}`);
    }
    return out;
}

export class PostgresCluster extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly members: Service[];
    public readonly dcs: Service[];
    public readonly router: Service;
    public readonly reconcile: Service;
    /** Scheduled backup templates (full, diff) and the first backup's job, with backups on. */
    public readonly backupTemplates: Record<"full" | "diff", Service> | undefined;
    public readonly backupInit: Service | undefined;
    /** The network clients attach to (attachable). */
    public readonly networkName: pulumi.Output<string>;
    /** `host:port` of the primary, through the router. */
    public readonly primaryEndpoint: string;
    /** `host:port` of the replicas, through the router. */
    public readonly replicaEndpoint: string;
    /** Swarm secret names by role (login roles) and system user: mount them in clients as `*_FILE`. */
    public readonly secretNames: pulumi.Output<Record<string, string>>;
    /** The Secret resources by the same keys, for `ServiceArgs.secrets`. */
    public readonly secrets: Record<string, Secret>;
    /** What Prometheus scrapes: Patroni's /metrics on each member, etcd's on each DCS member. */
    public readonly metricsTargets: MetricsTarget[];

    constructor(name: string, args: PostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Postgres", name, {}, opts);
        const plan = planPostgres(name, args);
        const n = names(name);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const childOpts = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        const endpointMode = args.endpointMode ?? "vip";
        const labelConstraint = (label?: string) => (label ? [`node.labels.${label}==true`] : []);

        // 0. Every node that may run one of the images can pull it, and a member's node has the
        // member's CPUs and memory: checked before any service changes.
        const resources = args.resources ?? DEFAULT_MEMBER_RESOURCES;
        const memberFix = "lower postgres.resources, or run the members on larger nodes (postgres.members)";
        const memberNeeds = (node: string) =>
            plan.members.includes(node)
                ? {
                      memory: { bytes: memberMemoryBytes(resources)!, what: `a PostgreSQL member (postgres.resources.memory ${resources.memory})`, fix: memberFix },
                      cpus: { count: resources.cpus, what: `a PostgreSQL member (postgres.resources.cpus ${resources.cpus})`, fix: memberFix },
                  }
                : {};
        const checks = Object.entries(args.nodeConnections).map(
            ([node, connection]) =>
                new ImageCheck(
                    `${name}-${node}-images`,
                    { connection, privateKey: conn.privateKey, images: [args.images.postgres, args.images.router, ...(plan.dcs.includes(node) ? [args.images.etcd] : [])], ...memberNeeds(node) },
                    childOpts,
                ),
        );
        const serviceOpts = pulumi.mergeOptions(childOpts, { dependsOn: checks });

        this.network = new Network(n.network, { ...conn, name: n.network, attachable: true, encrypted: args.encrypted ?? true, labels: { ...labels, "swarm-etl.data": "true" } }, childOpts);

        // Secrets: generated by the provider, handed only to Docker.
        const secretOf = (what: string) => new Secret(n.secret(what), { ...conn, name: n.secret(what), generate: { bytes: 32 }, labels }, childOpts);
        this.secrets = Object.fromEntries([...systemSecrets, ...loginRoles(plan).map((r) => roleSecret(r.name))].map((w) => [w, secretOf(w)]));
        const mountSecret = (what: string) => ({ secretId: this.secrets[what].secretId, secretName: this.secrets[what].secretName, target: n.secret(what), uid: PG_UID, gid: PG_UID, mode: 0o400 });
        this.secretNames = pulumi.all(Object.fromEntries(Object.entries(this.secrets).map(([k, s]) => [k, s.secretName]))) as pulumi.Output<Record<string, string>>;

        const patroni = new Config(n.patroniConfig, { ...conn, name: n.patroniConfig, data: patroniConfig(plan), labels }, childOpts);
        const patroniMount = { configId: patroni.configId, configName: patroni.configName, target: "/etc/patroni/patroni.yml", uid: PG_UID, gid: PG_UID, mode: 0o440 };
        const net = [this.network.networkId];
        const repo = args.backup?.repository;
        const backrest = repo ? new Config(n.backrestConfig, { ...conn, name: n.backrestConfig, data: memberConf(repo.name, name, args.restore?.stanza), labels }, childOpts) : undefined;
        const backrestMount = backrest ? [{ configId: backrest.configId, configName: backrest.configName, target: BACKREST_CONF, uid: PG_UID, gid: PG_UID, mode: 0o440 }] : [];
        const limits = (cpus: number, memory: string) => ({ limits: { cpus, memory } });
        // A name that Swarm's DNS does not know (a member on a node that crashed) goes to the
        // upstream resolvers; glibc's default (5 s, twice) would hold Patroni's leader race ~10 s.
        const dnsOptions = ["timeout:1", "attempts:2"];

        // One after the other: a change that restarts every etcd or member (a new image) restarts
        // them one at a time, each healthy before the next, so etcd keeps its quorum and the
        // cluster keeps a primary (a member stopped cleanly hands over to the synchronous standby).
        const oneAfterAnother = <T extends pulumi.Resource>(items: readonly string[], make: (node: string, after: pulumi.Resource[]) => T): T[] =>
            items.reduce<T[]>((done, node) => [...done, make(node, done.slice(-1))], []);

        // 1. The DCS: one etcd service per node, each with its own volume.
        this.dcs = oneAfterAnother(plan.dcs, (node, after) => {
            const vol = new Volume(n.dcsVolume(node), { connection: args.nodeConnections[node], privateKey: conn.privateKey, name: n.dcsVolume(node), labels }, childOpts);
            return new Service(
                n.dcs(node),
                {
                    ...conn,
                    name: n.dcs(node),
                    image: args.images.etcd,
                    env: dcsEnv(plan, node),
                    args: dcsArgs(plan),
                    networks: net,
                    endpointMode,
                    constraints: [vol.constraint, ...labelConstraint(args.dcsLabel)],
                    mounts: [{ type: "volume", source: n.dcsVolume(node), target: "/var/lib/etcd" }],
                    // The member listens for its peers. Swarm's DNS lists only healthy tasks, and etcd
                    // answers clients only once it is in a cluster: a check on the client port would
                    // keep the peers from ever finding each other.
                    healthcheck: { test: "bash -c '</dev/tcp/127.0.0.1/2380'", interval: "5s", timeout: "2s", retries: 3, startPeriod: "10s" },
                    restartPolicy: { condition: "any", delay: "2s" },
                    resources: limits(0.5, "256M"),
                    stopGracePeriod: "10s",
                    dnsOptions,
                    labels: { ...labels, "swarm-etl.stateful": "true", "swarm-etl.role": "dcs" },
                },
                pulumi.mergeOptions(serviceOpts, { dependsOn: after }),
            );
        });

        // 2. The members: one Patroni service per node, each with its own volume.
        this.members = oneAfterAnother(plan.members, (node, after) => {
            const vol = new Volume(n.memberVolume(node), { connection: args.nodeConnections[node], privateKey: conn.privateKey, name: n.memberVolume(node), labels }, childOpts);
            return new Service(
                n.member(node),
                {
                    ...conn,
                    name: n.member(node),
                    image: args.images.postgres,
                    env: memberEnv(plan, node),
                    networks: repo ? [...net, repo.network.networkId] : net,
                    endpointMode,
                    constraints: [vol.constraint, ...labelConstraint(args.memberLabel)],
                    mounts: [{ type: "volume", source: n.memberVolume(node), target: DATA_DIR }],
                    secrets: [...systemSecrets.map(mountSecret), ...(repo ? [repo.secretRef()] : [])],
                    configs: [patroniMount, ...backrestMount],
                    healthcheck: { test: ["CMD", "swarm-etl-pg-health", "/health"], interval: "5s", timeout: "4s", retries: 3, startPeriod: "120s" },
                    restartPolicy: { condition: "any", delay: "2s" },
                    resources: limits(resources.cpus, resources.memory),
                    // Patroni releases the leader key on a clean stop: a replica takes over at once.
                    stopGracePeriod: "60s",
                    dnsOptions,
                    labels: { ...labels, "swarm-etl.database": "true", "swarm-etl.stateful": "true", "swarm-etl.role": "member" },
                },
                pulumi.mergeOptions(serviceOpts, { dependsOn: [...this.dcs, ...after] }),
            );
        });

        // 3. The router.
        const routerSpecPath = "/etc/swarm-etl/router.json"; // the image's ENTRYPOINT reads it there
        const routerCfg = new Config(n.routerConfig, { ...conn, name: n.routerConfig, data: routerSpec(plan), labels }, childOpts);
        this.router = new Service(
            n.router,
            {
                ...conn,
                name: n.router,
                image: args.images.router,
                replicas: args.routerReplicas ?? 2,
                constraints: args.routerConstraints?.length ? [...args.routerConstraints] : undefined,
                networks: net,
                endpointMode,
                configs: [{ configId: routerCfg.configId, configName: routerCfg.configName, target: routerSpecPath, mode: 0o444 }],
                // The kernel forwards the sessions (nftables DNAT): the router's controller needs to
                // write its own network namespace's rules, and the namespace must forward.
                capAdd: ["NET_ADMIN"],
                sysctls: { "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.send_redirects": "0" },
                // A member's name that stops resolving is asked of the upstream too: fail fast.
                dnsOptions,
                healthcheck: { test: ["CMD", "swarm-etl-pg-router", "--health", routerSpecPath], interval: "5s", timeout: "3s", retries: 3, startPeriod: "10s" },
                restartPolicy: { condition: "any", delay: "1s" },
                resources: limits(0.5, "128M"),
                maxReplicasPerNode: 1,
                preferences: ["node.hostname"],
                stopGracePeriod: "5s",
                updateConfig: { parallelism: 1, order: "start-first" },
                labels: { ...labels, "swarm-etl.role": "router", "swarm-etl.stateful": "false", "swarm-etl.database": "false" },
            },
            serviceOpts,
        );

        // 4. Reconcile: DCS settings, the wanted primary, roles, databases, grants (re-run on change).
        const spec = new Config(n.reconcileConfig, { ...conn, name: n.reconcileConfig, data: reconcileSpec(plan), labels }, childOpts);
        this.reconcile = new Service(
            n.reconcile,
            {
                ...conn,
                name: n.reconcile,
                image: args.images.postgres,
                mode: "replicated-job",
                replicas: 1,
                command: ["swarm-etl-pg-reconcile"],
                networks: net,
                secrets: [...systemSecrets.map(mountSecret), ...loginRoles(plan).map((r) => mountSecret(roleSecret(r.name)))],
                configs: [patroniMount, { configId: spec.configId, configName: spec.configName, target: "/etc/swarm-etl/reconcile.json", uid: PG_UID, gid: PG_UID, mode: 0o440 }],
                restartPolicy: { condition: "on-failure", delay: "5s", maxAttempts: 3 },
                resources: limits(0.5, "256M"),
                labels: { ...labels, "swarm-etl.role": "reconcile" },
                convergeTimeoutSeconds: 600,
            },
            pulumi.mergeOptions(serviceOpts, { dependsOn: [...this.members, this.router] }),
        );

        // 5. Backups: the first one at deploy, then full and differential ones on their schedules
        //    (templates the scheduler runs as Swarm jobs), on the repository's node.
        if (repo) {
            const schedules = args.backup?.schedules ?? DEFAULT_SCHEDULES;
            const job = (kind: string) => ({
                ...conn,
                image: args.images.postgres,
                command: ["swarm-etl-pg-backup", kind],
                env: { PGBACKREST_STANZA: name },
                networks: [this.network.networkId, repo.network.networkId],
                endpointMode,
                constraints: [repo.constraint],
                mounts: [repo.mount],
                secrets: repo.jobSecrets(),
                configs: repo.jobConfigs(),
                restartPolicy: { condition: "on-failure" as const, delay: "30s", maxAttempts: 2 },
                resources: limits(1, "512M"),
            });
            const after = pulumi.mergeOptions(serviceOpts, { dependsOn: [this.reconcile, repo.service] });
            this.backupInit = new Service(
                n.backupJob("init"),
                { ...job("init"), name: n.backupJob("init"), mode: "replicated-job", replicas: 1, labels: { ...labels, "swarm-etl.role": "backup" }, convergeTimeoutSeconds: 900 },
                after,
            );
            const template = (kind: "full" | "diff") =>
                new Service(
                    n.backupJob(kind),
                    { ...job(kind), name: n.backupJob(kind), replicas: 0, labels: { ...labels, ...scheduledJobLabels(schedules[kind], args.backup?.keepRuns ?? 3), "swarm-etl.stateful": "false" } },
                    after,
                );
            this.backupTemplates = { full: template("full"), diff: template("diff") };
        }

        this.networkName = this.network.name;
        this.metricsTargets = [
            { job: "patroni", services: plan.members.map(n.member), networkName: n.network, networkId: this.network.networkId, port: PATRONI_PORT },
            { job: "etcd", services: plan.dcs.map(n.dcs), networkName: n.network, networkId: this.network.networkId, port: 2379 },
        ];
        this.primaryEndpoint = `${n.router}:5432`;
        this.replicaEndpoint = `${n.router}:5433`;
        this.registerOutputs({ networkName: this.networkName, primaryEndpoint: this.primaryEndpoint, replicaEndpoint: this.replicaEndpoint, secretNames: this.secretNames });
    }
}

export { PATRONI_PORT };
