// FlightsEtl: the flights pipeline (etl/) as Swarm jobs on the Spark cluster. The driver runs in a
// replicated-job task on the master's node (the event logs are there), submits to the master, and
// its executors on the workers load the warehouse through the PostgreSQL router as the ETL's own
// login role (its password a Swarm secret, read through WAREHOUSE_PASSWORD_FILE by the driver and
// by every executor).
//
// Two ways a run starts:
// - `pulumi up`: the job service `<name>` runs when its spec changes (a new image, settings) or
//   when `runId` changes; the up waits for it and fails when the run fails.
// - the schedule: a 0-replica template `<name>-scheduled` that the scheduler runs as a Swarm job
//   when its cron expression is due (in its time zone); never two runs of the template at once.
// Whatever starts it, one run loads the warehouse at a time: the job takes the warehouse's run
// lock first and a second run is refused (exit 4) and recorded as `refused` in etl_run.
//
// Each run pushes its metrics (etl/README.md) to `<name>-pushgateway` (Debian's Prometheus
// Pushgateway, its state on a volume of the master's node), where Prometheus scrapes them, and
// (with `telemetry`) sends its trace to the platform's collectors.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { MetricsTarget } from "../observability/render";
import { HostConnection, ImageCheck, Service, ServiceSecretRef, Volume } from "../../../providers/swarm";
import { scheduledJobLabels } from "../scheduler/labels";
import { EVENTS_DIR, SparkCluster, SPARK_UID } from "../spark/sparkCluster";

export interface WarehouseAccess {
    /** The network the router is on. */
    readonly networkId: pulumi.Input<string>;
    /** host:port of the primary through the router. */
    readonly endpoint: string;
    readonly database: string;
    readonly user: string;
    readonly schema: string;
    /** The role's password secret, mounted at the same path in the driver and the executors. */
    readonly passwordSecret: pulumi.Input<ServiceSecretRef>;
    readonly passwordFile: string;
}

export interface FlightsEtlArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly spark: SparkCluster;
    readonly warehouse: WarehouseAccess;
    /** Changing it runs the job at the next `pulumi up`. */
    readonly runId?: string;
    readonly schedule?: { readonly cron: string; readonly timeZone?: string };
    /** @default - 1g */
    readonly driverMemory?: string;
    /** @default - 1g */
    readonly executorMemory?: string;
    /** The data-quality thresholds (etl/README.md): a run above one fails its checks and keeps the previous snapshot. @default - the job's (0.01, 0.25) */
    readonly dq?: { readonly maxQuarantineRate?: number; readonly maxUnknownRate?: number };
    /** Finished scheduled runs kept. @default - 3 */
    readonly keepRuns?: number;
    /** The metrics gateway: its image (images/pushgateway) and the master node's own connection (its volume). */
    readonly pushgateway?: { readonly image: pulumi.Input<string>; readonly nodeConnection: HostConnection };
    /** Where each run's trace goes (extract, transform, load, check and swap under etl.run): the collectors' OTLP/HTTP endpoint and their network (the Logs stack's). @default - no trace */
    readonly telemetry?: { readonly networkId: pulumi.Input<string>; readonly otlpEndpoint: string };
    readonly endpointMode?: "vip" | "dnsrr";
}

/** The service name of the runs' spans. */
export const ETL_TRACE_SERVICE = "flights-etl";

/**
 * The ETL role's password secret as the driver and every executor mount it: for Spark's user, read
 * only by it, at `target` under /run/secrets (the PostgreSQL cluster's `<cluster>-role-<role>`).
 */
export function etlPasswordRef(secret: { readonly secretId: pulumi.Input<string>; readonly secretName: pulumi.Input<string> }, target: string): ServiceSecretRef {
    return { secretId: secret.secretId, secretName: secret.secretName, target, uid: String(SPARK_UID), gid: String(SPARK_UID), mode: 0o400 };
}

/**
 * The run's settings: the job reads nothing else (etl/README.md, "Configuration"). No secret is here.
 * The fact is written in one COPY stream per executor core (`loadPartitions`): on the lab, 2 streams
 * of a 10x fact loaded in 13.5–16.5 s where 4 took 15.5–21 s.
 */
export function etlEnv(a: Pick<FlightsEtlArgs, "warehouse" | "driverMemory" | "executorMemory" | "runId" | "dq" | "telemetry">, masterUrl: string, trigger: string, pushgateway?: string, loadPartitions?: number): Record<string, string> {
    const [host, port] = a.warehouse.endpoint.split(":");
    return {
        SPARK_MASTER_URL: masterUrl,
        SPARK_DRIVER_MEMORY: a.driverMemory ?? "1g",
        SPARK_EXECUTOR_MEMORY: a.executorMemory ?? "1g",
        WAREHOUSE_HOST: host,
        WAREHOUSE_PORT: port ?? "5432",
        WAREHOUSE_DB: a.warehouse.database,
        WAREHOUSE_USER: a.warehouse.user,
        WAREHOUSE_SCHEMA: a.warehouse.schema,
        WAREHOUSE_PASSWORD_FILE: a.warehouse.passwordFile,
        ETL_TRIGGER: trigger,
        ...(loadPartitions ? { LOAD_PARTITIONS: String(loadPartitions) } : {}),
        ...(a.dq?.maxQuarantineRate !== undefined ? { DQ_MAX_QUARANTINE_RATE: String(a.dq.maxQuarantineRate) } : {}),
        ...(a.dq?.maxUnknownRate !== undefined ? { DQ_MAX_UNKNOWN_RATE: String(a.dq.maxUnknownRate) } : {}),
        ...(pushgateway ? { PUSHGATEWAY_URL: `http://${pushgateway}:9091`, PUSHGATEWAY_JOB: "swarm_etl" } : {}),
        ...(a.telemetry ? { OTEL_EXPORTER_OTLP_ENDPOINT: a.telemetry.otlpEndpoint, OTEL_SERVICE_NAME: ETL_TRACE_SERVICE } : {}),
    };
}

/**
 * Where a run that failed its data-quality checks leaves its marker, on the event-log volume its
 * retries share: named by the Swarm service (filled in by Swarm: a scheduled run is a service of its
 * own) and a hash of the run's settings and image, so only a retry of the same run finds it.
 */
export function attemptMarker(env: Record<string, string>, image: string): string {
    const settings = JSON.stringify([image, Object.keys(env).sort().map((k) => [k, env[k]])]);
    return `${EVENTS_DIR}/attempts/{{.Service.ID}}-${createHash("sha256").update(settings).digest("hex").slice(0, 16)}`;
}

export class FlightsEtl extends pulumi.ComponentResource {
    /** The job `pulumi up` runs. */
    public readonly job: Service;
    /** The scheduled template, with a schedule. */
    public readonly template: Service | undefined;
    public readonly jobName: string;
    public readonly templateName: string | undefined;
    public readonly pushgateway: Service | undefined;
    /** What Prometheus scrapes: the runs' metrics on the gateway (their own job label kept). */
    public readonly metricsTargets: MetricsTarget[];

    constructor(name: string, args: FlightsEtlArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:FlightsEtl", name, {}, opts);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const labels = { "swarm-etl.stack": name, "swarm-etl.role": "etl" };
        const gatewayName = args.pushgateway ? `${name}-pushgateway` : undefined;
        if (args.pushgateway) {
            const vol = new Volume(`${gatewayName}-data`, { connection: args.pushgateway.nodeConnection, privateKey: conn.privateKey, name: `${gatewayName}-data`, labels: { "swarm-etl.stack": name } }, { parent: this });
            // Its node pulls its image before the service changes: an unpullable image stops the up there.
            const check = new ImageCheck(`${gatewayName}-image`, { connection: args.pushgateway.nodeConnection, privateKey: conn.privateKey, images: [args.pushgateway.image] }, { parent: this, dependsOn: opts?.dependsOn });
            this.pushgateway = new Service(
                gatewayName!,
                {
                    ...conn,
                    name: gatewayName!,
                    image: args.pushgateway.image,
                    networks: [args.spark.network.networkId],
                    endpointMode: args.endpointMode ?? "vip",
                    constraints: [vol.constraint],
                    mounts: [{ type: "volume", source: `${gatewayName}-data`, target: "/data" }],
                    healthcheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9091/-/ready"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "10s" },
                    restartPolicy: { condition: "any", delay: "2s" },
                    resources: { limits: { cpus: 0.25, memory: "128M" } },
                    stopGracePeriod: "5s",
                    labels: { "swarm-etl.stack": name, "swarm-etl.role": "etl-metrics", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
                },
                pulumi.mergeOptions({ parent: this, dependsOn: opts?.dependsOn }, { dependsOn: [check] }),
            );
        }
        const task = (trigger: string) => {
            const env = etlEnv(args, args.spark.masterUrl, trigger, gatewayName, args.spark.executorCores);
            return {
            ...conn,
            image: args.image,
            args: ["job"],
            env: pulumi.output(args.image).apply((image) => ({ ...env, ETL_ATTEMPT_MARKER: attemptMarker(env, image) })),
            networks: [args.spark.network.networkId, args.warehouse.networkId, ...(args.telemetry ? [args.telemetry.networkId] : [])],
            endpointMode: args.endpointMode ?? "vip",
            // The driver writes its event log to the history server's volume.
            constraints: [args.spark.driverConstraint],
            mounts: [args.spark.eventsMount],
            secrets: [args.warehouse.passwordSecret],
            // A run that fails (a failover of the warehouse in the middle of its load) runs once more;
            // the warehouse keeps the previous snapshot until a run commits. A run that failed its
            // data-quality checks is not run again: the retry finds the attempt's marker and ends.
            restartPolicy: { condition: "on-failure" as const, delay: "15s", maxAttempts: 1 },
            resources: { limits: { cpus: 1, memory: "2560M" } },
            };
        };
        const after = pulumi.mergeOptions({ parent: this, dependsOn: opts?.dependsOn }, { dependsOn: [args.spark.master, args.spark.workers, ...args.spark.checks, ...(this.pushgateway ? [this.pushgateway] : [])] });
        this.jobName = name;
        this.job = new Service(
            name,
            { ...task(args.runId ? `up:${args.runId}` : "up"), name, mode: "replicated-job", replicas: 1, labels: { ...labels, "swarm-etl.stateful": "false" }, convergeTimeoutSeconds: 1800 },
            after,
        );
        if (args.schedule) {
            this.templateName = `${name}-scheduled`;
            this.template = new Service(
                this.templateName,
                {
                    ...task("schedule"),
                    name: this.templateName,
                    replicas: 0,
                    labels: { ...labels, ...scheduledJobLabels(args.schedule.cron, args.keepRuns ?? 3, args.schedule.timeZone), "swarm-etl.stateful": "false" },
                },
                after,
            );
        }
        this.metricsTargets = gatewayName
            ? [{ job: "etl", services: [gatewayName], networkName: args.spark.names.network, networkId: args.spark.network.networkId, port: 9091, honorLabels: true }]
            : [];
        this.registerOutputs({ jobName: this.jobName, templateName: this.templateName, pushgateway: gatewayName });
    }
}
