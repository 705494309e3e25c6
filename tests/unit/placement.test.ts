// The control manager: prod keeps one manager active for the control services only. The rule as a
// function (keptOffControl), then the whole program (index.ts) with prod's committed config under
// mocks: every service that is not a control service carries the constraint that keeps it off the
// control manager, and Prometheus and Alertmanager live there.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import ssh2 = require("ssh2");
import { parse } from "yaml";
import { CONTROL_EXCLUDED, controlLabels, keptOffControl } from "../../components/placement";
import type { ServiceArgs } from "../../providers/swarm";
import { rawConfigFromStackFile } from "../../config/schema";
import { installMocks, Registered, valueOf } from "./mocks";

const base = { connection: { host: "h", user: "u", hostKey: "k" }, privateKey: "p", name: "s", image: "i" } as unknown as ServiceArgs;

describe("keptOffControl", () => {
    test("a service that is not a control service gets the constraint, after its own", () => {
        expect(keptOffControl(base).constraints).toEqual([CONTROL_EXCLUDED]);
        expect(keptOffControl({ ...base, constraints: ["node.labels.swarm-etl.postgres==true"] }).constraints).toEqual(["node.labels.swarm-etl.postgres==true", CONTROL_EXCLUDED]);
        expect(keptOffControl({ ...base, constraints: [CONTROL_EXCLUDED] }).constraints).toEqual([CONTROL_EXCLUDED]);
    });

    test("a control service is left as it is", () => {
        const ctl = { ...base, labels: { a: "b", ...controlLabels }, constraints: ["node.role==manager"] };
        expect(keptOffControl(ctl)).toBe(ctl);
    });

    test("labels or constraints known later: decided when they are", async () => {
        installMocks();
        const later = keptOffControl({ ...base, labels: pulumi.output({ a: "b" }), constraints: pulumi.output(["x==y"]) });
        expect(await valueOf(pulumi.output(later.constraints!))).toEqual(["x==y", CONTROL_EXCLUDED]);
        const ctl = keptOffControl({ ...base, labels: pulumi.output({ ...controlLabels }), constraints: ["x==y"] });
        expect(await valueOf(pulumi.output(ctl.constraints!))).toEqual(["x==y"]);
    });
});

describe("index.ts with prod's committed config (Pulumi.prod.yaml)", () => {
    let registered: Registered[];

    beforeAll(async () => {
        registered = installMocks();
        const doc = parse(fs.readFileSync(path.join(__dirname, "../../Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
        const raw = rawConfigFromStackFile(doc.config);
        const keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swetl-")), "id_ed25519");
        fs.writeFileSync(keyPath, ssh2.utils.generateKeyPairSync("ed25519").private);
        delete raw.sshPrivateKey;
        raw.sshPrivateKeyPath = keyPath;
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(raw)) all[`swarm-etl:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
        pulumi.runtime.setAllConfig(all, []);
        const program = await import("../../index");
        await valueOf(program.nodes as pulumi.Output<unknown>);
        for (let i = 0; i < 300 && !["observability-prometheus", "grafana", "edge", "pg-backup-diff"].every((n) => registered.some((r) => r.name === n)); i++) await new Promise((r) => setTimeout(r, 10));
    });

    const services = () => registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service");
    const isControl = (r: Registered) => (r.inputs.labels as Record<string, string> | undefined)?.["swarm-etl.placement"] === "control";

    test("every service but the control services keeps off the control manager", () => {
        const all = services();
        expect(all.length).toBeGreaterThan(30);
        const off = all.filter((r) => !isControl(r));
        for (const r of off) expect({ service: r.name, constraints: r.inputs.constraints }).toEqual({ service: r.name, constraints: expect.arrayContaining([CONTROL_EXCLUDED]) });
        expect(all.filter(isControl).map((r) => r.name).sort()).toEqual(
            [
                "logs-collector",
                "observability-alertmanager",
                "observability-cadvisor",
                "observability-node-exporter",
                "observability-prometheus",
                "observability-socket-proxy",
                "observability-swarm-exporter",
                "swarm-etl-scheduler",
            ].sort(),
        );
        for (const r of all.filter(isControl)) expect(r.inputs.constraints ?? []).not.toContain(CONTROL_EXCLUDED);
    });

    test("Prometheus' and Alertmanager's data on the control manager; Loki, Jaeger and Grafana on prod-wkr1", () => {
        const volumeNode = (n: string) => (registered.find((r) => r.name === n && r.type.endsWith(":Volume"))!.inputs.connection as { name: string }).name;
        expect(["observability-prometheus-data", "observability-alertmanager-data", "observability-docker-ro"].map(volumeNode)).toEqual(["prod-mgr1", "prod-mgr1", "prod-mgr1"]);
        expect(["logs-store-data", "traces-data", "grafana-data"].map(volumeNode)).toEqual(["prod-wkr1", "prod-wkr1", "prod-wkr1"]);
        expect(services().find((r) => r.name === "logs-store")!.inputs.image).toMatch(/\/logs-loki@sha256:/);
    });

    test("Grafana: its realm client, its UI and Prometheus' and Alertmanager's behind the edge, on the edge's network", () => {
        const client = registered.find((r) => r.name === "platform-realm-client-grafana")!.inputs;
        expect(client).toMatchObject({ clientId: "grafana", redirectUris: ["https://grafana.prod.example.com/login/generic_oauth"] });
        const nginx = registered.find((r) => r.name === "edge-nginx")!.inputs.data as string;
        for (const host of ["grafana", "prometheus", "alertmanager", "traces"]) expect(nginx).toContain(`${host}.prod.example.com`);
        expect(nginx).not.toContain("logs.prod.example.com"); // Loki has no UI of its own: Grafana reads it
        const prom = services().find((r) => r.name === "observability-prometheus")!.inputs;
        expect(prom.networks).toEqual(expect.arrayContaining(["net-edge-net", "net-observability-net"]));
        expect(new Set(prom.networks as string[]).size).toBe((prom.networks as string[]).length);
    });
});
