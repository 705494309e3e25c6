// Logs: the collector's rendered configuration under the collector itself (`otelcol validate`, the
// binary images/ocb.sh builds from the image's manifest), Loki's rendered configuration, the
// arguments' problems, and the component's graph under Pulumi mocks (both stores from one component).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { Logs, logsArgsProblems } from "../../components/stacks/logs/logs";
import { renderCollectorConfig, renderLokiConfig, storeEndpoint } from "../../components/stacks/logs/render";
import { installMocks, Registered, valueOf } from "./mocks";

const REPO = path.resolve(__dirname, "../..");
const MANIFEST = path.join(REPO, "components/stacks/logs/images/collector/ocb.yaml");

/** The collector the image ships (built once, then cached by images/ocb.sh). */
function otelcol(): string {
    const r = spawnSync("bash", [path.join(REPO, "images/ocb.sh"), MANIFEST], { encoding: "utf8", timeout: 1_200_000 });
    if (r.status !== 0) throw new Error(`images/ocb.sh did not build the collector (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}\nfix: install Go 1.26 (scripts/setup.sh) and run \`bash images/ocb.sh ${path.relative(REPO, MANIFEST)}\``);
    return r.stdout.trim();
}

function validate(config: string): { status: number | null; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "otelcol-"));
    const file = path.join(dir, "config.yaml");
    // Paths the config names, where the collector may create them.
    fs.writeFileSync(file, config.replaceAll("/var/lib/otelcol", path.join(dir, "state")));
    const r = spawnSync(otelcol(), ["validate", `--config=${file}`], { encoding: "utf8", env: { ...process.env, NODE_NAME: "wkr1" }, timeout: 60_000 });
    fs.rmSync(dir, { recursive: true });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("the collector's configuration", () => {
    const vl = renderCollectorConfig({ store: "victorialogs", storeHost: "logs-store" });
    const loki = renderCollectorConfig({ store: "loki", storeHost: "logs-store" });

    const withTraces = renderCollectorConfig({ store: "victorialogs", storeHost: "logs-store", tracesHost: "traces-jaeger" });

    test("the collector built from the image's manifest accepts it, for either store, with or without the trace store", () => {
        for (const c of [vl, loki, withTraces]) {
            const r = validate(c);
            expect(r.out).toBe("");
            expect(r.status).toBe(0);
        }
    }, 1_200_000);

    test("the collector refuses a config that is wrong (the check can fail)", () => {
        const r = validate(vl.replace("otlp_http/store", "otlp_http/nowhere"));
        expect(r.status).not.toBe(0);
        expect(r.out).toMatch(/otlphttp\/store|references exporter/);
    }, 1_200_000);

    test("every container's json-file log, with offsets and the queue on the node's volume, to the store's OTLP endpoint", () => {
        const c = parse(vl);
        expect(c.receivers.filelog.include).toEqual(["/var/lib/docker/containers/*/*-json.log"]);
        expect(c.receivers.filelog.storage).toBe("file_storage");
        expect(c.extensions.file_storage.directory).toBe("/var/lib/otelcol");
        const exp = c.exporters["otlp_http/store"];
        expect(exp.logs_endpoint).toBe("http://logs-store:9428/insert/opentelemetry/v1/logs");
        expect(exp.sending_queue.storage).toBe("file_storage");
        expect(exp.headers["VL-Stream-Fields"]).toBe("service.name,host.name,container.id");
        expect(c.service.pipelines.logs.receivers).toEqual(["filelog", "otlp"]);
        // Loki takes the same stream on its own OTLP path, with no VictoriaLogs headers.
        const l = parse(loki).exporters["otlp_http/store"];
        expect(l.logs_endpoint).toBe("http://logs-store:3100/otlp/v1/logs");
        expect(l.headers).toBeUndefined();
        expect(storeEndpoint("loki", "x")).toBe("http://x:3100/otlp/v1/logs");
    });

    test("with a trace store: the programs' OTLP spans go to it as they came (no node attribute), queued on the node's volume; without one, no traces pipeline", () => {
        const c = parse(withTraces);
        expect(c.service.pipelines.traces).toEqual({ receivers: ["otlp"], processors: ["memory_limiter"], exporters: ["otlp_http/traces"] });
        const exp = c.exporters["otlp_http/traces"];
        expect(exp.traces_endpoint).toBe("http://traces-jaeger:4318/v1/traces");
        expect(exp.sending_queue.storage).toBe("file_storage");
        // The logs pipeline is unchanged by it.
        expect(c.service.pipelines.logs).toEqual(parse(vl).service.pipelines.logs);
        expect(parse(vl).service.pipelines.traces).toBeUndefined();
        expect(parse(vl).exporters["otlp_http/traces"]).toBeUndefined();
    });

    test("Loki's config: one process, its data under /loki (the volume), retention from config, OTLP's structured metadata allowed", () => {
        const c = parse(renderLokiConfig({ retention: "14d" }));
        expect(c.limits_config).toEqual({ retention_period: "14d", allow_structured_metadata: true });
        expect(c.compactor.retention_enabled).toBe(true);
        expect(c.common.path_prefix).toBe("/loki");
        expect(c.auth_enabled).toBe(false);
    });
});

describe("the Logs arguments", () => {
    test("each problem names the value and the fix", () => {
        expect(logsArgsProblems({ store: "elastic" as never, retention: "7 days", queueSize: 3 })).toEqual([
            'store "elastic" is not a log store this stack deploys; fix: one of victorialogs, loki',
            'retention "7 days" is not a number of hours, days or weeks; fix: e.g. 12h, 7d or 4w',
            "queueSize 3 is not a whole number of batches of at least 10; fix: e.g. 5000",
        ]);
        expect(logsArgsProblems({ store: "loki", retention: "4w", queueSize: 100 })).toEqual([]);
    });
});

describe("the Logs component (mocks)", () => {
    const conn = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: "k" } as never;
    async function deploy(store: "victorialogs" | "loki"): Promise<{ registered: Registered[]; logs: Logs }> {
        const registered = installMocks();
        const nodeConnections = Object.fromEntries(["mgr1", "wkr1"].map((name) => [name, { name, host: name, port: 22, user: "root", hostKey: "k" } as never]));
        const logs = new Logs(`logs-${store}`, { connection: conn, privateKey: "key", node: "mgr3", nodeConnection: conn, nodeConnections, store, images: { collector: "r/c@sha256:1", store: "r/s@sha256:2" }, retention: "3d", endpointMode: "dnsrr" });
        await valueOf(pulumi.output(logs.collector.urn));
        return { registered, logs };
    }
    const svc = (registered: Registered[], name: string) => registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === name)!.inputs as Record<string, any>;

    test("the collector: one task per node, Docker's containers directory read-only, its state on a volume, the node's hostname from Swarm", async () => {
        const { registered, logs } = await deploy("victorialogs");
        const c = svc(registered, "logs-victorialogs-collector");
        expect(c.mode).toBe("global");
        expect(c.mounts).toEqual([
            { type: "bind", source: "/var/lib/docker/containers", target: "/var/lib/docker/containers", readOnly: true },
            { type: "volume", source: "logs-victorialogs-collector-state", target: "/var/lib/otelcol" },
        ]);
        expect(c.env).toEqual({ NODE_NAME: "{{.Node.Hostname}}" });
        // The state volume on each node the stack knows, so that it goes with the stack.
        const vols = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:Volume" && r.inputs.name === "logs-victorialogs-collector-state");
        expect(vols.map((v) => (v.inputs.connection as { name: string }).name).sort()).toEqual(["mgr1", "wkr1"]);
        expect(JSON.stringify(c.mounts)).not.toContain("docker.sock");
        expect(c.resources.limits.memory).toBeDefined();
        expect(logs.metricsTargets.map((t) => `${t.job}:${t.port}`)).toEqual(["log-collector:8888", "log-store:9428"]);
    });

    test("VictoriaLogs or Loki from the same component: only the store's service and its config differ", async () => {
        const a = await deploy("victorialogs");
        const b = await deploy("loki");
        const vl = svc(a.registered, "logs-victorialogs-store");
        const lk = svc(b.registered, "logs-loki-store");
        expect(vl.args).toEqual(["-retentionPeriod=3d"]);
        expect(vl.mounts).toEqual([{ type: "volume", source: "logs-victorialogs-store-data", target: "/data" }]);
        expect(vl.constraints).toHaveLength(1);
        expect(lk.args).toEqual(["-config.file=/etc/loki/loki.yaml"]);
        expect(lk.mounts[0].target).toBe("/loki");
        expect(lk.healthcheck.test.join(" ")).toContain(":3100/ready");
        expect(b.registered.some((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config" && r.name === "logs-loki-loki")).toBe(true);
        expect(a.registered.some((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config" && r.name.endsWith("-loki"))).toBe(false);
        expect(b.logs.queryUrl).toBe("http://logs-loki-store:3100");
        // Both collectors are the same but for where they send.
        const conf = (r: Registered[]) => parse(String(r.find((x) => x.type === "pulumi-nodejs:dynamic/swarm:Config" && x.name.endsWith("-collector"))!.inputs.data));
        const [ca, cb] = [conf(a.registered), conf(b.registered)];
        expect(ca.receivers).toEqual(cb.receivers);
        expect(ca.processors).toEqual(cb.processors);
        expect(cb.exporters["otlp_http/store"].logs_endpoint).toBe("http://logs-loki-store:3100/otlp/v1/logs");
    });

    test("bad arguments fail before anything is made", () => {
        installMocks();
        expect(() => new Logs("bad", { connection: conn, privateKey: "k", node: "mgr1", nodeConnection: conn, images: { collector: "c", store: "s" }, retention: "forever" })).toThrow(/retention "forever".*fix: e\.g\. 12h, 7d or 4w/);
    });
});
