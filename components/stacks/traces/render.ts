// What the trace store reads (pure): Jaeger v2's configuration. OTLP in (gRPC and HTTP, from the
// platform's collectors), spans kept in Badger on the store's volume for `retention`, the query API
// (and UI) on 16686, its own metrics on 8888 and its health on 13133.
import { stringify } from "yaml";

export const TRACE_PORTS = { otlpGrpc: 4317, otlpHttp: 4318, query: 16686, metrics: 8888, health: 13133 } as const;
/** Where Badger keeps the spans: the store's volume. */
export const TRACES_DATA_DIR = "/data";

export interface JaegerRender {
    /** How long spans are kept, in hours (Badger's TTL). */
    readonly retentionHours: number;
}

/** Jaeger's config.yaml (cmd/jaeger, v2). */
export function renderJaegerConfig(r: JaegerRender): string {
    return stringify({
        service: {
            extensions: ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            pipelines: { traces: { receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] } },
            telemetry: {
                resource: { "service.name": "jaeger" },
                metrics: { level: "detailed", readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: TRACE_PORTS.metrics } } } }] },
                logs: { level: "info" },
            },
        },
        extensions: {
            healthcheckv2: { use_v2: true, http: { endpoint: `0.0.0.0:${TRACE_PORTS.health}` } },
            jaeger_query: { storage: { traces: "spans" }, http: { endpoint: `0.0.0.0:${TRACE_PORTS.query}` }, grpc: { endpoint: "127.0.0.1:16685" } },
            jaeger_storage: {
                backends: {
                    spans: { badger: { directories: { keys: `${TRACES_DATA_DIR}/keys`, values: `${TRACES_DATA_DIR}/values` }, ephemeral: false, ttl: { spans: `${r.retentionHours}h` } } },
                },
            },
        },
        receivers: { otlp: { protocols: { grpc: { endpoint: `0.0.0.0:${TRACE_PORTS.otlpGrpc}` }, http: { endpoint: `0.0.0.0:${TRACE_PORTS.otlpHttp}` } } } },
        processors: { batch: {} },
        exporters: { jaeger_storage_exporter: { trace_storage: "spans" } },
    });
}

/** Hours in a retention of hours, days or weeks (12h, 7d, 2w). */
export function retentionHours(retention: string): number {
    const m = /^([1-9]\d*)([hdw])$/.exec(retention);
    if (!m) throw new Error(`retention ${JSON.stringify(retention)} is not a number of hours, days or weeks; fix: e.g. 12h, 7d or 2w`);
    return Number(m[1]) * { h: 1, d: 24, w: 168 }[m[2] as "h" | "d" | "w"];
}
