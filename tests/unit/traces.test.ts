// Traces: Jaeger's rendered configuration under Jaeger itself (`jaeger validate`, the binary
// images/gotool.sh builds from the image's go.mod), the retention's parsing, and the component's
// graph under Pulumi mocks; the programs' side: the ETL's and Keycloak's settings for their spans.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { etlEnv, ETL_TRACE_SERVICE } from "../../components/stacks/etl/flightsEtl";
import { keycloakArgsProblems, keycloakEnv } from "../../components/stacks/identity/keycloak";
import { renderJaegerConfig, retentionHours } from "../../components/stacks/traces/render";
import { Traces, tracesArgsProblems } from "../../components/stacks/traces/traces";
import { installMocks, Registered, valueOf } from "./mocks";

const REPO = path.resolve(__dirname, "../..");
const DEFINITION = path.join(REPO, "components/stacks/traces/images/jaeger");

/** Jaeger as the image ships it (built once from go.mod and go.sum, then cached by images/gotool.sh). */
function jaegerBinary(): string {
    const r = spawnSync("bash", [path.join(REPO, "images/gotool.sh"), DEFINITION], { encoding: "utf8", timeout: 1_200_000 });
    if (r.status !== 0) throw new Error(`images/gotool.sh did not build Jaeger (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}\nfix: install Go 1.26 (scripts/setup.sh) and run \`bash images/gotool.sh ${path.relative(REPO, DEFINITION)}\``);
    return path.join(r.stdout.trim(), "jaeger");
}

function validate(config: string): { status: number | null; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jaeger-"));
    const file = path.join(dir, "config.yaml");
    fs.writeFileSync(file, config.replaceAll("/data/", `${dir}/data/`));
    const r = spawnSync(jaegerBinary(), ["validate", `--config=${file}`], { encoding: "utf8", timeout: 60_000 });
    fs.rmSync(dir, { recursive: true });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("Jaeger's configuration", () => {
    const config = renderJaegerConfig({ retentionHours: 48 });

    test("Jaeger built from the image's go.mod accepts it; a pipeline that names a processor it lacks is refused (the check can fail)", () => {
        expect(validate(config).status).toBe(0);
        expect(config).toContain("      processors:\n        - batch\n");
        const bad = validate(config.replace("      processors:\n        - batch\n", "      processors:\n        - nowhere\n"));
        expect(bad.status).not.toBe(0);
        expect(bad.out).toMatch(/nowhere/);
    }, 1_200_000);

    test("OTLP in, spans in Badger on the volume for the retention, the query API on 16686, its metrics on 8888", () => {
        const c = parse(config);
        expect(c.service.pipelines.traces).toEqual({ receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] });
        expect(c.extensions.jaeger_storage.backends.spans.badger).toEqual({ directories: { keys: "/data/keys", values: "/data/values" }, ephemeral: false, ttl: { spans: "48h" } });
        expect(c.extensions.jaeger_query.storage.traces).toBe("spans");
        expect(c.extensions.jaeger_query.http.endpoint).toBe("0.0.0.0:16686");
        expect(c.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port).toBe(8888);
    });

    test("retention in hours, days or weeks; anything else names the fix", () => {
        expect([retentionHours("12h"), retentionHours("7d"), retentionHours("2w")]).toEqual([12, 168, 336]);
        expect(tracesArgsProblems({ retention: "1 week" })).toEqual(['retention "1 week" is not a number of hours, days or weeks; fix: e.g. 12h, 7d or 2w']);
        expect(tracesArgsProblems({ retention: "0d" })).toHaveLength(1);
        expect(tracesArgsProblems({})).toEqual([]);
    });
});

describe("the Traces component (mocks)", () => {
    const conn = { name: "mgr3", host: "198.18.20.13", port: 22, user: "root", hostKey: "k" } as never;
    const svc = (registered: Registered[], name: string) => registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === name)!.inputs as Record<string, any>;

    test("Jaeger on the collectors' network, on its data's node, one writer at a time, a Prometheus target", async () => {
        const registered = installMocks();
        const t = new Traces("tr", { connection: conn, privateKey: "key", node: "mgr3", nodeConnection: conn, image: "r/jaeger@sha256:1", network: { networkId: "net-logs", name: "logs-net" }, retention: "3d", endpointMode: "dnsrr" });
        await valueOf(pulumi.output(t.store.urn));
        const s = svc(registered, "tr-jaeger");
        expect(s.networks).toEqual(["net-logs"]);
        expect(s.mounts).toEqual([{ type: "volume", source: "tr-data", target: "/data" }]);
        expect(s.constraints).toHaveLength(1);
        expect(s.updateConfig.order).toBe("stop-first");
        expect(s.configs[0].target).toBe("/etc/jaeger/config.yaml");
        const conf = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config" && r.name === "tr-jaeger")!;
        expect(parse(String(conf.inputs.data)).extensions.jaeger_storage.backends.spans.badger.ttl.spans).toBe("72h");
        expect(t.queryUrl).toBe("http://tr-jaeger:16686");
        expect(t.metricsTargets.map((m) => `${m.job}:${m.networkName}:${m.port}`)).toEqual(["trace-store:logs-net:8888"]);
    });

    test("bad arguments fail before anything is made", () => {
        installMocks();
        expect(() => new Traces("bad", { connection: conn, privateKey: "k", node: "mgr3", nodeConnection: conn, image: "i", network: { networkId: "n", name: "n" }, retention: "forever" })).toThrow(/retention "forever".*fix: e\.g\. 12h, 7d or 2w/);
    });
});

describe("the programs' spans", () => {
    const warehouse = { networkId: "n", endpoint: "pg-router:5432", database: "warehouse", user: "etl_writer", schema: "flights", passwordSecret: {} as never, passwordFile: "/run/secrets/x" };

    test("the ETL's driver exports over OTLP/HTTP to the collectors, as flights-etl; without telemetry, no OTEL_* at all", () => {
        const on = etlEnv({ warehouse, telemetry: { networkId: "logs", otlpEndpoint: "http://logs-collector:4318" } }, "spark://m:7077", "up");
        expect(on.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://logs-collector:4318");
        expect(on.OTEL_SERVICE_NAME).toBe(ETL_TRACE_SERVICE);
        expect(Object.keys(etlEnv({ warehouse }, "spark://m:7077", "up")).filter((k) => k.startsWith("OTEL_"))).toEqual([]);
    });

    test("Keycloak: spans to the collectors over gRPC at the ratio given; without tracing, none sampled (tracing is built into the image)", () => {
        const files = { db: "/run/secrets/db", admin: "/run/secrets/admin" };
        const database = { networkId: "n", endpoint: "pg-router:5432", database: "keycloak", user: "keycloak", passwordSecret: { secretId: "s", secretName: "s" } };
        const on = keycloakEnv({ database, tracing: { networkId: "logs", otlpGrpcEndpoint: "http://logs-collector:4317", samplerRatio: 0.5 } }, files);
        expect(on).toMatchObject({ KC_TRACING_ENDPOINT: "http://logs-collector:4317", KC_TRACING_PROTOCOL: "grpc", KC_TRACING_SAMPLER_RATIO: "0.5" });
        const off = keycloakEnv({ database }, files);
        expect(off.KC_TRACING_SAMPLER_RATIO).toBe("0.0");
        expect(off.KC_TRACING_ENDPOINT).toBeUndefined();
        expect(keycloakArgsProblems({ database, tracing: { networkId: "n", otlpGrpcEndpoint: "x", samplerRatio: 0 } })).toEqual(["tracing.samplerRatio 0 is not a share of requests above 0 and at most 1; fix: 1 (every request), or e.g. 0.1"]);
    });
});
