// What the logs services read (pure): the collector's configuration (every container's json-file
// log on its node, labelled with the Swarm service, task and node, shipped as OTLP/HTTP to the log
// store, through a queue kept on disk; the programs' OTLP spans to the trace store when there is
// one) and Loki's, for real clusters that choose it.
import { stringify } from "yaml";

export const LOG_PORTS = { health: 13133, collectorMetrics: 8888, otlpGrpc: 4317, otlpHttp: 4318, victorialogs: 9428, loki: 3100 } as const;
/** Where Docker keeps each container's json-file log, on every node (the collector mounts it read-only). */
export const CONTAINERS_DIR = "/var/lib/docker/containers";
/** The collector's file offsets and its queue, on a volume of each node: a restarted agent goes on where it stopped. */
export const COLLECTOR_STATE_DIR = "/var/lib/otelcol";
/** The Docker labels the json-file driver writes beside each line (`log-opts.labels`), which name its service, task and node. */
export const SWARM_LOG_LABELS = ["com.docker.swarm.service.name", "com.docker.swarm.task.name", "com.docker.swarm.node.id"] as const;

/** The log stores the stack can ship to: VictoriaLogs (Apache-2.0, the lab's) or Loki (AGPL, real clusters only). */
export const LOG_STORES = ["victorialogs", "loki"] as const;
export type LogStoreKind = (typeof LOG_STORES)[number];

/** The store's port and the path it takes OTLP/HTTP logs on. */
export function storeEndpoint(kind: LogStoreKind, host: string): string {
    return kind === "loki" ? `http://${host}:${LOG_PORTS.loki}/otlp/v1/logs` : `http://${host}:${LOG_PORTS.victorialogs}/insert/opentelemetry/v1/logs`;
}

export interface CollectorRender {
    readonly store: LogStoreKind;
    /** The store's service name (its DNS name on the logs network). */
    readonly storeHost: string;
    /** Requests (of up to 5000 lines) waiting for the store, at most (kept on disk while it is away). @default - 5000 */
    readonly queueSize?: number;
    /** How long a batch is retried before it is dropped. @default - 0s: until the store takes it (the queue is bounded) */
    readonly maxRetry?: string;
    /** The trace store's service name (Jaeger, on the logs network): the programs' OTLP traces go there. @default - none: traces are not taken */
    readonly tracesHost?: string;
    /** The collector's own memory limit (MiB): it refuses data above it instead of being killed. @default - 100 */
    readonly memoryLimitMiB?: number;
}

/**
 * The collector's config.yaml. Each line of a container's json-file log becomes a record whose body
 * is the line, with resource attributes service.name, swarm.task.name and swarm.node.id (the
 * driver's `labels` attributes), container.id (from the file's path) and host.name (NODE_NAME,
 * the service's `{{.Node.Hostname}}`).
 */
export function renderCollectorConfig(r: CollectorRender): string {
    const retry = { enabled: true, initial_interval: "1s", max_interval: "10s", max_elapsed_time: r.maxRetry ?? "0s" };
    const mem = r.memoryLimitMiB ?? 100;
    const headers = r.store === "victorialogs" ? { "VL-Stream-Fields": "service.name,host.name,container.id" } : undefined;
    const label = (from: string, to: string) => ({ type: "move", from: `attributes.attrs["${from}"]`, to: `resource["${to}"]`, on_error: "send_quiet" });
    return stringify({
        extensions: {
            health_check: { endpoint: `0.0.0.0:${LOG_PORTS.health}` },
            file_storage: { directory: COLLECTOR_STATE_DIR, create_directory: true, timeout: "1s", compaction: { on_start: true, directory: COLLECTOR_STATE_DIR } },
        },
        receivers: {
            filelog: {
                include: [`${CONTAINERS_DIR}/*/*-json.log`],
                // A node's logs from before the agent came; after that its offsets (on the volume) say where it stopped.
                start_at: "beginning",
                include_file_path: true,
                include_file_name: false,
                storage: "file_storage",
                operators: [
                    // {"log":"…\n","stream":"stdout","attrs":{…},"time":"…"}: body, log.iostream, timestamp, attrs.
                    { type: "container", id: "docker", format: "docker", add_metadata_from_filepath: false },
                    { type: "regex_parser", id: "container_id", parse_from: 'attributes["log.file.path"]', regex: "^.*/(?P<container_id>[0-9a-f]{64})/[0-9a-f]{64}-json\\.log$", parse_to: "resource", on_error: "send_quiet" },
                    { type: "move", from: 'resource["container_id"]', to: 'resource["container.id"]', on_error: "send_quiet" },
                    label(SWARM_LOG_LABELS[0], "service.name"),
                    label(SWARM_LOG_LABELS[1], "swarm.task.name"),
                    label(SWARM_LOG_LABELS[2], "swarm.node.id"),
                ],
            },
            otlp: { protocols: { grpc: { endpoint: `0.0.0.0:${LOG_PORTS.otlpGrpc}` }, http: { endpoint: `0.0.0.0:${LOG_PORTS.otlpHttp}` } } },
        },
        processors: {
            memory_limiter: { check_interval: "1s", limit_mib: mem, spike_limit_mib: Math.round(mem / 5) },
            "resource/node": { attributes: [{ key: "host.name", value: "${env:NODE_NAME}", action: "upsert" }] },
            "transform/lines": {
                error_mode: "ignore",
                log_statements: [
                    // A container outside Swarm has no service: it is named by what it is.
                    { context: "resource", statements: ['set(resource.attributes["service.name"], "docker") where resource.attributes["service.name"] == nil'] },
                    {
                        context: "log",
                        statements: [
                            // Docker keeps each line's newline.
                            'set(log.body, TrimSuffix(log.body, "\\n")) where IsString(log.body)',
                            // The path served to find the container's ID.
                            'delete_key(log.attributes, "log.file.path")',
                            'delete_key(log.attributes, "attrs") where log.attributes["attrs"] != nil and Len(log.attributes["attrs"]) == 0',
                        ],
                    },
                ],
            },
        },
        exporters: {
            "otlp_http/store": {
                logs_endpoint: storeEndpoint(r.store, r.storeHost),
                ...(headers ? { headers } : {}),
                compression: "gzip",
                timeout: "10s",
                // While the store is away, batches wait in the queue on the volume, retried until it is back.
                retry_on_failure: retry,
                // Batched from the queue, not by a batch processor before it: filelog records its offsets
                // once the pipeline took the lines, and a batch processor holds them only in memory (a
                // collector killed there lost every one of them; from the queue, none).
                sending_queue: {
                    enabled: true,
                    storage: "file_storage",
                    sizer: "requests",
                    queue_size: r.queueSize ?? 5000,
                    num_consumers: 2,
                    batch: { flush_timeout: "1s", sizer: "items", min_size: 1000, max_size: 5000 },
                },
            },
            // The programs' spans (the ETL's run, Keycloak's requests), to the trace store as they came
            // (their own resource: a span's host is where it ran, not this collector's node).
            ...(r.tracesHost
                ? {
                      "otlp_http/traces": {
                          traces_endpoint: `http://${r.tracesHost}:${LOG_PORTS.otlpHttp}/v1/traces`,
                          compression: "gzip",
                          timeout: "10s",
                          retry_on_failure: retry,
                          sending_queue: { enabled: true, storage: "file_storage", sizer: "requests", queue_size: 1000, num_consumers: 2, batch: { flush_timeout: "1s", sizer: "items", min_size: 500, max_size: 2000 } },
                      },
                  }
                : {}),
        },
        service: {
            extensions: ["health_check", "file_storage"],
            telemetry: { metrics: { level: "normal", readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: LOG_PORTS.collectorMetrics } } } }] } },
            pipelines: {
                logs: { receivers: ["filelog", "otlp"], processors: ["memory_limiter", "resource/node", "transform/lines"], exporters: ["otlp_http/store"] },
                ...(r.tracesHost ? { traces: { receivers: ["otlp"], processors: ["memory_limiter"], exporters: ["otlp_http/traces"] } } : {}),
            },
        },
    });
}

/** Loki's config for real clusters: one process, its chunks and index on its volume, OTLP in. */
export function renderLokiConfig(r: { readonly retention: string }): string {
    return stringify({
        auth_enabled: false,
        server: { http_listen_port: LOG_PORTS.loki },
        common: { path_prefix: "/loki", replication_factor: 1, ring: { kvstore: { store: "inmemory" } }, storage: { filesystem: { chunks_directory: "/loki/chunks", rules_directory: "/loki/rules" } } },
        schema_config: { configs: [{ from: "2024-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }] },
        limits_config: { retention_period: r.retention, allow_structured_metadata: true },
        compactor: { working_directory: "/loki/compactor", retention_enabled: true, delete_request_store: "filesystem" },
    });
}
