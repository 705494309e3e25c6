// Traces: the platform's spans in one store (docs/observability.md, "Traces").
//
// The programs (the ETL's driver, Keycloak) send OTLP to the node agents of the Logs stack, which
// pass their spans on (`LogsArgs.tracesHost`) to Jaeger v2 (Apache-2.0, images/jaeger: built here
// from the Go module proxy) on one node, its spans in Badger on that node's volume for `retention`.
// Jaeger's query API (and UI) answers on 16686 on the logs network, where the edge reaches it; its
// own metrics on 8888 are a Prometheus target. Built from Go modules alone, Jaeger serves a
// placeholder page for its UI: the API is the same, and the tests read it.
import * as pulumi from "@pulumi/pulumi";
import { Config, HostConnection, ImageCheck, Service, Volume } from "../../../providers/swarm";
import type { MetricsTarget } from "../observability/render";
import { renderJaegerConfig, retentionHours, TRACE_PORTS, TRACES_DATA_DIR } from "./render";

/** The image, by its name in `swarm-etl:images`. */
export const TRACES_IMAGE = "traces-jaeger";

/** The trace store's service name for a Traces stack named `name` (the Logs stack's `tracesHost`). */
export const tracesStoreName = (name: string) => `${name}-jaeger`;

export interface TracesArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** The node that holds the spans, and its own connection. */
    readonly node: string;
    readonly nodeConnection: HostConnection;
    readonly image: pulumi.Input<string>;
    /** The network the collectors are on (the Logs stack's): the store joins it. */
    readonly network: { readonly networkId: pulumi.Input<string>; readonly name: string };
    /** How long spans are kept (hours, days or weeks: 12h, 7d, 2w). @default - 7d */
    readonly retention?: string;
    readonly endpointMode?: "vip" | "dnsrr";
}

/** What is wrong with the arguments, each with its fix. */
export function tracesArgsProblems(a: Pick<TracesArgs, "retention">): string[] {
    if (a.retention === undefined) return [];
    try {
        retentionHours(a.retention);
        return [];
    } catch (e) {
        return [(e as Error).message];
    }
}

export class Traces extends pulumi.ComponentResource {
    public readonly store: Service;
    public readonly names: { readonly store: string };
    /** Jaeger's query API (and UI) on the logs network: `/api/services`, `/api/traces?service=…`. */
    public readonly queryUrl: string;
    /** Jaeger's own metrics (spans received, stored, refused). */
    public readonly metricsTargets: MetricsTarget[];

    constructor(name: string, args: TracesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Traces", name, {}, opts);
        const problems = tracesArgsProblems(args);
        if (problems.length) throw new Error(`Traces ${name}: ${problems.join("; ")}`);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const nodeConn = { connection: args.nodeConnection, privateKey: conn.privateKey };
        const child = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        const store = tracesStoreName(name);
        this.names = { store };
        this.queryUrl = `http://${store}:${TRACE_PORTS.query}`;

        const check = new ImageCheck(`${name}-image`, { ...nodeConn, images: [args.image] }, child);
        const data = new Volume(`${name}-data`, { ...nodeConn, name: `${name}-data`, labels }, child);
        const conf = new Config(`${name}-jaeger`, { ...conn, name: `${name}-jaeger`, data: renderJaegerConfig({ retentionHours: retentionHours(args.retention ?? "7d") }), labels }, child);
        this.store = new Service(
            store,
            {
                ...conn,
                name: store,
                image: args.image,
                networks: [args.network.networkId],
                endpointMode: args.endpointMode ?? "vip",
                constraints: [data.constraint],
                mounts: [{ type: "volume", source: `${name}-data`, target: TRACES_DATA_DIR }],
                configs: [{ configId: conf.configId, configName: conf.configName, target: "/etc/jaeger/config.yaml" }],
                healthcheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${TRACE_PORTS.health}/status`], interval: "10s", timeout: "3s", retries: 3, startPeriod: "20s" },
                restartPolicy: { condition: "any", delay: "2s" },
                stopGracePeriod: "30s",
                // One writer of the Badger directory: the old task stops before the new one starts.
                updateConfig: { parallelism: 1, order: "stop-first" },
                // Badger's tables and caches: 116 MiB on the lab after a run and the sign-ins.
                resources: { limits: { cpus: 0.5, memory: "512M" } },
                labels: { ...labels, "swarm-etl.role": "trace-store", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
            },
            pulumi.mergeOptions(child, { dependsOn: [check] }),
        );
        this.metricsTargets = [{ job: "trace-store", services: [store], networkName: args.network.name, networkId: args.network.networkId, port: TRACE_PORTS.metrics }];
        this.registerOutputs({ queryUrl: this.queryUrl });
    }
}
