// Logs: every container's log on every node, in one store (docs/observability.md, "Logs").
//
// - The collector (images/collector): an OpenTelemetry Collector built here with the OpenTelemetry
//   Collector Builder from the Go module proxy, one task per node (global). It reads each
//   container's json-file log from Docker's directory (read-only), names each line's Swarm service,
//   task and node (the json-file driver's `labels` attributes, and the node's hostname), and ships
//   OTLP/HTTP to the store. Its file offsets and its queue live on a volume of its node, so lines a
//   node wrote while the store was away, or while the node itself was down, arrive when both are
//   back. It also takes OTLP from the platform's programs (4317/4318): their spans go to the trace
//   store (the Traces stack, on this stack's network) when `tracesHost` names it.
// - The store, on one node with its volume: VictoriaLogs (Apache-2.0, images/victorialogs; the
//   lab's) or Loki (AGPL, real clusters only, its image from the configured registry). Both take
//   the same OTLP stream: the choice is `store`, and only the store service differs.
import * as pulumi from "@pulumi/pulumi";
import { Config, HostConnection, ImageCheck, Network, Service, Volume } from "../../../providers/swarm";
import type { MetricsTarget } from "../observability/render";
import { COLLECTOR_STATE_DIR, CONTAINERS_DIR, LOG_PORTS, LOG_STORES, LogStoreKind, renderCollectorConfig, renderLokiConfig } from "./render";
import { controlLabels } from "../../placement";

/** The images, by their names in `swarm-etl:images` (Loki's only where the store is Loki). */
export const LOGS_IMAGES = { collector: "logs-collector", victorialogs: "logs-victorialogs", loki: "logs-loki" } as const;

export interface LogsArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** The node that holds the store's data, and its own connection. */
    readonly node: string;
    readonly nodeConnection: HostConnection;
    /** Every node, by name: the collector's state volume is made on each (and goes with the stack). @default - Swarm makes it where a task lands, and it stays */
    readonly nodeConnections?: Readonly<Record<string, HostConnection>>;
    /** @default - victorialogs */
    readonly store?: LogStoreKind;
    /** The collector's image, and the store's (VictoriaLogs', or Loki's from the cluster's registry). */
    readonly images: { readonly collector: pulumi.Input<string>; readonly store: pulumi.Input<string> };
    /** How long the store keeps logs (hours, days or weeks: 12h, 7d, 4w). @default - 7d */
    readonly retention?: string;
    /** Batches the collector keeps on disk while the store is away, per node. @default - 5000 */
    readonly queueSize?: number;
    /** The trace store's service name on this stack's network (the Traces stack's `names.store`): the collector sends it the programs' spans. @default - spans are not taken */
    readonly tracesHost?: string;
    readonly endpointMode?: "vip" | "dnsrr";
    /** @default - true */
    readonly encrypted?: boolean;
}

const RETENTION_RE = /^[1-9]\d*[hdw]$/;

/** What is wrong with the arguments, each with its fix. */
export function logsArgsProblems(a: Pick<LogsArgs, "store" | "retention" | "queueSize">): string[] {
    const out: string[] = [];
    if (a.store !== undefined && !LOG_STORES.includes(a.store)) out.push(`store ${JSON.stringify(a.store)} is not a log store this stack deploys; fix: one of ${LOG_STORES.join(", ")}`);
    if (a.retention !== undefined && !RETENTION_RE.test(a.retention)) out.push(`retention ${JSON.stringify(a.retention)} is not a number of hours, days or weeks; fix: e.g. 12h, 7d or 4w`);
    if (a.queueSize !== undefined && (!Number.isInteger(a.queueSize) || a.queueSize < 10)) out.push(`queueSize ${a.queueSize} is not a whole number of batches of at least 10; fix: e.g. 5000`);
    return out;
}

export class Logs extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly store: Service;
    public readonly collector: Service;
    /** Service names, for the tests and the edge. */
    public readonly names: { readonly store: string; readonly collector: string };
    /** The store's kind, and where the store answers queries on the logs network. */
    public readonly storeKind: LogStoreKind;
    public readonly queryUrl: string;
    /** Where the platform's programs send OTLP over HTTP (spans, logs) on the logs network. */
    public readonly otlpEndpoint: string;
    /** Where they send OTLP over gRPC. */
    public readonly otlpGrpcEndpoint: string;
    /** The collector's own metrics (lines read, sent, queued, failed) and the store's. */
    public readonly metricsTargets: MetricsTarget[];

    constructor(name: string, args: LogsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Logs", name, {}, opts);
        const problems = logsArgsProblems(args);
        if (problems.length) throw new Error(`Logs ${name}: ${problems.join("; ")}`);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const nodeConn = { connection: args.nodeConnection, privateKey: conn.privateKey };
        const child = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        const endpointMode = args.endpointMode ?? "vip";
        const kind = (this.storeKind = args.store ?? "victorialogs");
        const retention = args.retention ?? "7d";
        const n = (s: string) => `${name}-${s}`;
        this.names = { store: n("store"), collector: n("collector") };
        const storePort = kind === "loki" ? LOG_PORTS.loki : LOG_PORTS.victorialogs;
        this.queryUrl = `http://${this.names.store}:${storePort}`;
        this.otlpEndpoint = `http://${this.names.collector}:${LOG_PORTS.otlpHttp}`;
        this.otlpGrpcEndpoint = `http://${this.names.collector}:${LOG_PORTS.otlpGrpc}`;
        const restartPolicy = { condition: "any" as const, delay: "2s" };
        const health = (port: number, p: string) => ({ test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${port}${p}`], interval: "10s", timeout: "3s", retries: 3, startPeriod: "20s" });

        const check = new ImageCheck(n("images"), { ...nodeConn, images: [args.images.collector, args.images.store] }, child);
        const after = pulumi.mergeOptions(child, { dependsOn: [check] });
        this.network = new Network(n("net"), { ...conn, name: n("net"), attachable: false, encrypted: args.encrypted ?? true, labels }, child);
        const data = new Volume(n("store-data"), { ...nodeConn, name: n("store-data"), labels }, child);

        const loki = kind === "loki" ? new Config(n("loki"), { ...conn, name: n("loki"), data: renderLokiConfig({ retention }), labels }, child) : undefined;
        this.store = new Service(
            this.names.store,
            {
                ...conn,
                name: this.names.store,
                image: args.images.store,
                args: loki ? ["-config.file=/etc/loki/loki.yaml"] : [`-retentionPeriod=${retention}`],
                networks: [this.network.networkId],
                endpointMode,
                constraints: [data.constraint],
                mounts: [{ type: "volume", source: n("store-data"), target: loki ? "/loki" : "/data" }],
                configs: loki ? [{ configId: loki.configId, configName: loki.configName, target: "/etc/loki/loki.yaml" }] : undefined,
                healthcheck: loki ? health(LOG_PORTS.loki, "/ready") : health(LOG_PORTS.victorialogs, "/health"),
                restartPolicy,
                stopGracePeriod: "30s",
                // One writer of its data directory: the old task stops before the new one starts.
                updateConfig: { parallelism: 1, order: "stop-first" },
                resources: { limits: { cpus: 1, memory: "512M" } },
                labels: { ...labels, "swarm-etl.role": "log-store", "swarm-etl.stateful": "true" },
            },
            after,
        );

        // The collector's offsets and queue: one volume of that name on each node.
        const state = Object.entries(args.nodeConnections ?? {}).map(([node, c]) => new Volume(`${n("collector-state")}-${node}`, { connection: c, privateKey: conn.privateKey, name: n("collector-state"), labels }, child));
        const conf = new Config(n("collector"), { ...conn, name: n("collector"), data: renderCollectorConfig({ store: kind, storeHost: this.names.store, queueSize: args.queueSize, tracesHost: args.tracesHost }), labels }, child);
        this.collector = new Service(
            this.names.collector,
            {
                ...conn,
                name: this.names.collector,
                image: args.images.collector,
                mode: "global",
                networks: [this.network.networkId],
                endpointMode,
                env: { NODE_NAME: "{{.Node.Hostname}}" },
                mounts: [
                    { type: "bind", source: CONTAINERS_DIR, target: CONTAINERS_DIR, readOnly: true },
                    // This node's offsets and queue (its volume of that name).
                    { type: "volume", source: n("collector-state"), target: COLLECTOR_STATE_DIR },
                ],
                configs: [{ configId: conf.configId, configName: conf.configName, target: "/etc/otelcol/config.yaml" }],
                healthcheck: health(LOG_PORTS.health, "/"),
                restartPolicy,
                stopGracePeriod: "20s",
                resources: { limits: { cpus: 0.5, memory: "160M" } },
                labels: { ...labels, ...controlLabels, "swarm-etl.role": "log-collector", "swarm-etl.stateful": "false", "swarm-etl.reads-host": CONTAINERS_DIR },
            },
            pulumi.mergeOptions(after, { dependsOn: [this.store, ...state] }),
        );
        const netName = n("net");
        this.metricsTargets = [
            { job: "log-collector", services: [this.names.collector], networkName: netName, networkId: this.network.networkId, port: LOG_PORTS.collectorMetrics },
            { job: "log-store", services: [this.names.store], networkName: netName, networkId: this.network.networkId, port: storePort },
        ];
        this.registerOutputs({ queryUrl: this.queryUrl });
    }
}
