// PgBackupRepository: pgBackRest's repository host on the swarm. One service (pgBackRest's TLS
// server) on a node that runs no PostgreSQL member, so losing the primary's node never loses the
// backups; the repository is a local volume there (the lab), a host path (an NFS or SAN mount on
// real clusters), or S3-compatible object storage (its credentials a Swarm secret that only the
// repository host and the backup jobs mount; the members reach the repository through the host). Members push WAL to it and restores read from it over TLS; the backup jobs run
// beside it, on the same node, with the same volume. It keeps any number of stanzas (one per
// cluster), so a cluster can be restored into a new one from here. Beside it, `<name>-exporter`
// serves what the repository holds (`pgbackrest info`: each stanza's newest backup of each type) to
// Prometheus, the repository mounted read only.
import * as pulumi from "@pulumi/pulumi";
import { Config, HostConnection, MountSpec, Network, Secret, Service, ServiceConfigRef, ServiceSecretRef, Volume } from "../../../providers/swarm";
import type { MetricsTarget } from "../observability/render";
import { BACKREST_CONF, BACKREST_PORT, BACKUP_EXPORTER_PORT, DEFAULT_RETENTION, REPO_PATH, repoNames, repositoryConf, RepositoryPlan, Retention, S3_CA_FILE, S3_CREDENTIALS_FILE, s3CredentialsConf, s3Problems, S3Storage, TLS_CN, tlsDnsNames } from "./backup";
import { PG_UID } from "./paths";

export interface PgBackupRepositoryArgs {
    /** A manager of the swarm (through the bastion). */
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** The repository node's own connection (its volume is made there). */
    readonly nodeConnection: HostConnection;
    /** The repository's node: one that runs no member. */
    readonly node: string;
    /** The PostgreSQL image (it carries pgBackRest). */
    readonly image: pulumi.Input<string>;
    /** The member hosts (service names) of each stanza it keeps, by stanza (the cluster's name). */
    readonly stanzas: Readonly<Record<string, readonly string[]>>;
    /** @default - 2 full backups, 6 differential */
    readonly retention?: Retention;
    /** A host path on the node (e.g. an NFS mount) instead of a local volume. @default - a local volume */
    readonly path?: string;
    /** Node label the repository's node carries (an extra constraint `node.labels.<label>==true`). @default - none: the volume's node pins it */
    readonly nodeLabel?: string;
    /** vip needs IPVS; the lab uses dnsrr. @default - vip */
    readonly endpointMode?: "vip" | "dnsrr";
    /** Encrypt the overlay network. @default - true */
    readonly encrypted?: boolean;
    /**
     * Keep the repository in S3-compatible storage instead of the node's volume or `path` (the node
     * still runs the repository host and keeps the backup locks). @default - none
     */
    readonly s3?: S3RepositoryArgs;
}

export interface S3RepositoryArgs extends S3Storage {
    readonly accessKeyId: string;
    /** Set it with `pulumi config set --secret`: a Pulumi secret (encrypted in the state), handed to Docker as a Swarm secret. */
    readonly secretAccessKey: pulumi.Input<string>;
}

export class PgBackupRepository extends pulumi.ComponentResource {
    public readonly name: string;
    public readonly node: string;
    public readonly stanzas: readonly string[];
    public readonly network: Network;
    /** The generated TLS identity (certificate and key) every side mounts. */
    public readonly tls: Secret;
    /** The repository host's pgbackrest.conf (the backup jobs mount it too). */
    public readonly config: Config;
    public readonly service: Service;
    /** Pins a service to the repository's node. */
    public readonly constraint: pulumi.Output<string>;
    /** The repository's storage, for the jobs that run beside it. */
    public readonly mount: MountSpec;
    /** Serves the repository's backups as metrics. */
    public readonly exporter: Service;
    /** What Prometheus scrapes: the exporter (job `pgbackrest`). */
    public readonly metricsTargets: MetricsTarget[];
    private readonly storageSecrets: ServiceSecretRef[] = [];
    private readonly storageConfigs: ServiceConfigRef[] = [];

    constructor(name: string, args: PgBackupRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:PgBackupRepository", name, {}, opts);
        const plan: RepositoryPlan = { name, stanzas: args.stanzas, retention: args.retention ?? DEFAULT_RETENTION, s3: args.s3 };
        const problems = repositoryProblems(args);
        if (problems.length) throw new Error(`PgBackupRepository ${name}: ${problems.join("; ")}`);
        const r = repoNames(name);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const childOpts = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        this.name = name;
        this.node = args.node;
        this.stanzas = Object.keys(args.stanzas);

        this.network = new Network(r.network, { ...conn, name: r.network, attachable: true, encrypted: args.encrypted ?? true, labels: { ...labels, "swarm-etl.data": "true" } }, childOpts);
        this.tls = new Secret(r.tls, { ...conn, name: r.tls, generate: { tls: { commonName: TLS_CN, dnsNames: tlsDnsNames(plan) } }, labels }, childOpts);
        this.config = new Config(r.config, { ...conn, name: r.config, data: repositoryConf(plan), labels }, childOpts);
        const s3 = args.s3;
        if (s3) {
            const credentials = new Secret(`${name}-s3`, { ...conn, name: `${name}-s3`, data: pulumi.secret(pulumi.output(s3.secretAccessKey).apply((k) => s3CredentialsConf(s3.accessKeyId, k))), labels }, childOpts);
            this.storageSecrets.push({ secretId: credentials.secretId, secretName: credentials.secretName, target: S3_CREDENTIALS_FILE, uid: PG_UID, gid: PG_UID, mode: 0o400 });
            if (s3.ca) {
                const ca = new Config(`${name}-s3-ca`, { ...conn, name: `${name}-s3-ca`, data: s3.ca, labels }, childOpts);
                this.storageConfigs.push({ configId: ca.configId, configName: ca.configName, target: S3_CA_FILE, uid: PG_UID, gid: PG_UID, mode: 0o444 });
            }
        }
        if (args.path) {
            this.constraint = pulumi.output(`node.hostname==${args.node}`);
            this.mount = { type: "bind", source: args.path, target: REPO_PATH };
        } else {
            const vol = new Volume(r.volume, { connection: args.nodeConnection, privateKey: conn.privateKey, name: r.volume, labels }, childOpts);
            this.constraint = vol.constraint;
            this.mount = { type: "volume", source: r.volume, target: REPO_PATH };
        }
        this.service = new Service(
            r.service,
            {
                ...conn,
                name: r.service,
                image: args.image,
                command: ["pgbackrest", "server"],
                networks: [this.network.networkId],
                endpointMode: args.endpointMode ?? "vip",
                constraints: [this.constraint, ...(args.nodeLabel ? [`node.labels.${args.nodeLabel}==true`] : [])],
                mounts: [this.mount],
                secrets: this.jobSecrets(),
                configs: this.jobConfigs(),
                healthcheck: { test: `bash -c '</dev/tcp/127.0.0.1/${BACKREST_PORT}'`, interval: "10s", timeout: "3s", retries: 3, startPeriod: "10s" },
                restartPolicy: { condition: "any", delay: "2s" },
                resources: { limits: { cpus: 1, memory: "512M" } },
                stopGracePeriod: "30s",
                labels: { ...labels, "swarm-etl.role": "backup-repository", "swarm-etl.stateful": "true" },
            },
            childOpts,
        );
        // `pgbackrest info` only reads the repository (its locks in the container's own /tmp).
        this.exporter = new Service(
            r.exporter,
            {
                ...conn,
                name: r.exporter,
                image: args.image,
                command: ["swarm-etl-pgbackrest-exporter"],
                env: { PORT: String(BACKUP_EXPORTER_PORT) },
                networks: [this.network.networkId],
                endpointMode: args.endpointMode ?? "vip",
                constraints: [this.constraint, ...(args.nodeLabel ? [`node.labels.${args.nodeLabel}==true`] : [])],
                mounts: [{ ...this.mount, readOnly: true }],
                secrets: this.storageSecrets,
                configs: this.jobConfigs(),
                healthcheck: { test: `bash -c '</dev/tcp/127.0.0.1/${BACKUP_EXPORTER_PORT}'`, interval: "10s", timeout: "3s", retries: 3, startPeriod: "10s" },
                restartPolicy: { condition: "any", delay: "2s" },
                resources: { limits: { cpus: 0.25, memory: "128M" } },
                stopGracePeriod: "5s",
                // Tied to the repository's node and volume like the repository itself (one task, pinned).
                labels: { ...labels, "swarm-etl.role": "metrics-exporter", "swarm-etl.stateful": "true" },
            },
            { ...childOpts, dependsOn: [this.service] },
        );
        this.metricsTargets = [{ job: "pgbackrest", services: [r.exporter], networkName: r.network, networkId: this.network.networkId, port: BACKUP_EXPORTER_PORT }];
        this.registerOutputs({ node: this.node, stanzas: this.stanzas });
    }

    /** The identity, mounted for uid 999 (postgres) read-only. */
    secretRef(): ServiceSecretRef {
        return { secretId: this.tls.secretId, secretName: this.tls.secretName, target: repoNames(this.name).tls, uid: PG_UID, gid: PG_UID, mode: 0o400 };
    }

    configRef(): ServiceConfigRef {
        return { configId: this.config.configId, configName: this.config.configName, target: BACKREST_CONF, uid: PG_UID, gid: PG_UID, mode: 0o440 };
    }

    /** What a service that writes the repository mounts (the host, the backup jobs): the identity and any storage credentials. */
    jobSecrets(): ServiceSecretRef[] {
        return [this.secretRef(), ...this.storageSecrets];
    }

    jobConfigs(): ServiceConfigRef[] {
        return [this.configRef(), ...this.storageConfigs];
    }
}

/** Problems of the repository's arguments, each with its fix. */
export function repositoryProblems(args: Pick<PgBackupRepositoryArgs, "node" | "stanzas" | "retention" | "path" | "s3">): string[] {
    const out: string[] = [];
    const retention = args.retention ?? DEFAULT_RETENTION;
    if (!Number.isInteger(retention.full) || retention.full < 1 || retention.full > 100) out.push(`retention.full must be a whole number from 1 to 100, got ${JSON.stringify(retention.full)}`);
    if (!Number.isInteger(retention.diff) || retention.diff < 1 || retention.diff > 400) out.push(`retention.diff must be a whole number from 1 to 400, got ${JSON.stringify(retention.diff)}`);
    if (Object.keys(args.stanzas).length === 0) out.push("no stanza: give the clusters whose backups it keeps");
    if (args.path !== undefined && !/^\/[^\0]*$/.test(args.path)) out.push(`path ${JSON.stringify(args.path)} is not an absolute path; fix: e.g. /srv/pgbackrest (a mount on ${args.node})`);
    if (args.s3) out.push(...s3Problems(args.s3).map(([k, why]) => `s3.${k}: ${why}`));
    return out;
}
