// SparkCluster: Spark standalone on the swarm, from the one Spark image (images/spark): a master
// pinned to its node, workers on the nodes a label marks (one per node, cores and memory from
// config), and a history server over the jobs' event logs.
//
// Master recovery is FILESYSTEM on the master node's volume: a restarted master reads back its
// registered workers and applications, and the workers (which reconnect to the master's service
// name) carry on. ZooKeeper would also let a standby master on another node take over, at the
// price of a three-node ensemble; the master holds no data and running applications keep their
// executors while it is away, so one pinned master with its state on a volume is the choice here
// (docs/spark.md argues it).
//
// Applications (the ETL job) attach to `network`, run their driver on the master's node (the event
// logs are on its volume: `eventsMount`) and reach the master at `masterUrl`.
import * as pulumi from "@pulumi/pulumi";
import type { MetricsTarget } from "../observability/render";
import { HostConnection, ImageCheck, Network, Service, ServiceSecretRef, Volume } from "../../../providers/swarm";
import { DAEMON_MEMORY, parseLabel, sparkMemoryBytes } from "./config";

export const SPARK_UID = 10001;
export const EVENTS_DIR = "/data/events";
export const UI_PORTS = { master: 8080, worker: 8081, history: 18080 } as const;
/** A worker's container holds the worker daemon and its executors' Python workers besides the executors' heap. */
export const WORKER_OVERHEAD = "1g";

export const sparkNames = (name: string) => ({
    network: `${name}-net`,
    master: `${name}-master`,
    worker: `${name}-worker`,
    history: `${name}-history`,
    recoveryVolume: `${name}-master-recovery`,
    eventsVolume: `${name}-events`,
});

export interface SparkClusterArgs {
    /** A manager of the swarm (through the bastion). */
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** Each node's own connection: its volumes and its image checks. */
    readonly nodeConnections: Readonly<Record<string, HostConnection>>;
    /** The Spark image (components/stacks/spark/images/spark). */
    readonly image: pulumi.Input<string>;
    /** The master's node (its recovery volume and the event logs). */
    readonly masterNode: string;
    /** The workers' nodes (for the image and memory checks) and the label that places them (key=value). */
    readonly workerNodes: readonly string[];
    readonly workerLabel: string;
    /** Workers to run, one per labelled node. @default - workerNodes.length */
    readonly workers?: number;
    /** @default - 1 */
    readonly workerCores?: number;
    /** Spark memory size, e.g. 2g. @default - 2g */
    readonly workerMemory?: string;
    /** @default - true */
    readonly history?: boolean;
    /** Networks and secrets the executors need besides Spark's (the warehouse's network, its password). */
    readonly executorNetworks?: pulumi.Input<string>[];
    readonly executorSecrets?: pulumi.Input<ServiceSecretRef>[];
    readonly endpointMode?: "vip" | "dnsrr";
    /** @default - true */
    readonly encrypted?: boolean;
}

/** Problems of the arguments, each with its fix (the stack schema reports the config's first). */
export function sparkClusterProblems(a: SparkClusterArgs): string[] {
    const out: string[] = [];
    if (!parseLabel(a.workerLabel)) out.push(`workerLabel ${JSON.stringify(a.workerLabel)} is not key=value; fix: e.g. swarm-etl.spark=worker`);
    const n = a.workers ?? a.workerNodes.length;
    if (n > a.workerNodes.length) out.push(`workers ${n} needs as many labelled nodes, there are ${a.workerNodes.length}; fix: label more nodes or run fewer workers`);
    if (!a.nodeConnections[a.masterNode]) out.push(`masterNode ${a.masterNode} has no node connection; fix: name a node of the swarm`);
    return out;
}

export class SparkCluster extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly master: Service;
    public readonly workers: Service;
    public readonly history: Service | undefined;
    public readonly networkName: pulumi.Output<string>;
    /** spark://<master>:7077 */
    public readonly masterUrl: string;
    /** Where applications run their driver: the master's node (constraint). */
    public readonly driverConstraint: pulumi.Output<string>;
    /** The event-log volume, for the drivers (on the master's node). */
    public readonly eventsMount: { type: "volume"; source: string; target: string };
    /** The master node's own connection (applications keep their volumes there). */
    public readonly masterNodeConnection: HostConnection;
    /** Services the images' checks guard: an application depends on them too. */
    public readonly checks: ImageCheck[];
    /** The Swarm names of its network and services. */
    public readonly names: ReturnType<typeof sparkNames>;
    /** What Prometheus scrapes: Spark's own PrometheusServlet on the master and on each worker. */
    public readonly metricsTargets: MetricsTarget[];
    /** The executors' cores in all (workers × cores each): what an application can run at once. */
    public readonly executorCores: number;

    constructor(name: string, args: SparkClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Spark", name, {}, opts);
        const problems = sparkClusterProblems(args);
        if (problems.length) throw new Error(`SparkCluster ${name}: ${problems.join("; ")}`);
        const n = sparkNames(name);
        this.names = n;
        this.executorCores = (args.workers ?? args.workerNodes.length) * (args.workerCores ?? 1);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const childOpts = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        const endpointMode = args.endpointMode ?? "vip";
        const workerMemory = args.workerMemory ?? "2g";
        const [labelKey, labelValue] = parseLabel(args.workerLabel)!;
        const mib = (b: number) => `${Math.ceil(b / 1024 ** 2)}M`;
        const workerLimit = sparkMemoryBytes(workerMemory) + sparkMemoryBytes(WORKER_OVERHEAD);

        // 0. Every node that runs a Spark task can pull the image; a worker's node has the memory.
        const nodes = [...new Set([args.masterNode, ...args.workerNodes])];
        this.checks = nodes.map(
            (node) =>
                new ImageCheck(
                    `${name}-${node}-images`,
                    {
                        connection: args.nodeConnections[node],
                        privateKey: conn.privateKey,
                        images: [args.image],
                        memory: args.workerNodes.includes(node)
                            ? { bytes: workerLimit, what: `a Spark worker (spark.workers.memory ${workerMemory} + ${WORKER_OVERHEAD} for the worker daemon and Python)`, fix: "lower spark.workers.memory, or place the workers on larger nodes (spark.workers.label)" }
                            : undefined,
                    },
                    childOpts,
                ),
        );
        const serviceOpts = pulumi.mergeOptions(childOpts, { dependsOn: this.checks });

        this.network = new Network(n.network, { ...conn, name: n.network, attachable: true, encrypted: args.encrypted ?? true, labels }, childOpts);
        const masterConn = { connection: args.nodeConnections[args.masterNode], privateKey: conn.privateKey };
        this.masterNodeConnection = args.nodeConnections[args.masterNode];
        const recovery = new Volume(n.recoveryVolume, { ...masterConn, name: n.recoveryVolume, labels }, childOpts);
        const events = new Volume(n.eventsVolume, { ...masterConn, name: n.eventsVolume, labels }, childOpts);
        this.driverConstraint = events.constraint;
        this.eventsMount = { type: "volume", source: n.eventsVolume, target: EVENTS_DIR };
        const health = (role: keyof typeof UI_PORTS) => ({ test: ["CMD", "swarm-etl-spark", "health", role], interval: "10s", timeout: "5s", retries: 3, startPeriod: "60s" });
        const env = { SPARK_DAEMON_MEMORY: DAEMON_MEMORY, SPARK_MASTER_URL: `spark://${n.master}:7077` };

        this.master = new Service(
            n.master,
            {
                ...conn,
                name: n.master,
                image: args.image,
                args: ["master"],
                env,
                networks: [this.network.networkId],
                endpointMode,
                constraints: [recovery.constraint],
                mounts: [{ type: "volume", source: n.recoveryVolume, target: "/data/recovery" }],
                healthcheck: health("master"),
                restartPolicy: { condition: "any", delay: "2s" },
                resources: { limits: { cpus: 0.5, memory: "1G" } },
                stopGracePeriod: "10s",
                updateConfig: { parallelism: 1, order: "stop-first" },
                labels: { ...labels, "swarm-etl.role": "spark-master", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
            },
            serviceOpts,
        );

        this.workers = new Service(
            n.worker,
            {
                ...conn,
                name: n.worker,
                image: args.image,
                args: ["worker"],
                env: { ...env, SPARK_WORKER_CORES: String(args.workerCores ?? 1), SPARK_WORKER_MEMORY: workerMemory },
                replicas: args.workers ?? args.workerNodes.length,
                networks: [this.network.networkId, ...(args.executorNetworks ?? [])],
                secrets: args.executorSecrets,
                endpointMode,
                constraints: [`node.labels.${labelKey}==${labelValue}`],
                maxReplicasPerNode: 1,
                healthcheck: health("worker"),
                restartPolicy: { condition: "any", delay: "2s" },
                resources: { limits: { cpus: (args.workerCores ?? 1) + 0.5, memory: mib(workerLimit) } },
                stopGracePeriod: "10s",
                updateConfig: { parallelism: 1, order: "stop-first" },
                labels: { ...labels, "swarm-etl.role": "spark-worker", "swarm-etl.stateful": "false", "swarm-etl.ui": "true" },
            },
            pulumi.mergeOptions(serviceOpts, { dependsOn: [this.master] }),
        );

        if (args.history ?? true) {
            this.history = new Service(
                n.history,
                {
                    ...conn,
                    name: n.history,
                    image: args.image,
                    args: ["history"],
                    env: { SPARK_DAEMON_MEMORY: DAEMON_MEMORY },
                    networks: [this.network.networkId],
                    endpointMode,
                    constraints: [events.constraint],
                    mounts: [this.eventsMount],
                    healthcheck: health("history"),
                    restartPolicy: { condition: "any", delay: "2s" },
                    resources: { limits: { cpus: 0.5, memory: "1G" } },
                    stopGracePeriod: "5s",
                    labels: { ...labels, "swarm-etl.role": "spark-history", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
                },
                serviceOpts,
            );
        }

        this.networkName = this.network.name;
        this.masterUrl = `spark://${n.master}:7077`;
        this.metricsTargets = [
            { job: "spark-master", services: [n.master], networkName: n.network, networkId: this.network.networkId, port: UI_PORTS.master, path: "/metrics/master/prometheus" },
            { job: "spark-worker", services: [n.worker], networkName: n.network, networkId: this.network.networkId, port: UI_PORTS.worker, path: "/metrics/prometheus" },
        ];
        this.registerOutputs({ networkName: this.networkName, masterUrl: this.masterUrl });
    }
}
