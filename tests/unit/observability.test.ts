// Observability: Prometheus' and Alertmanager's rendered configuration under their own checkers
// (promtool check config, amtool check-config), the arguments' problems, and the component's graph
// under Pulumi mocks (who mounts the Docker socket, who reads it, which networks Prometheus joins).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { renderAlertmanagerConfig, renderBlackboxConfig, renderPrometheusConfig } from "../../components/stacks/observability/render";
import { ALERTMANAGER_UID, Observability, observabilityArgsProblems } from "../../components/stacks/observability/observability";
import { installMocks, Registered, valueOf } from "./mocks";

function check(tool: string, args: string[], file: string, data: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "obs-"));
    fs.writeFileSync(path.join(dir, file), data);
    const r = spawnSync(tool, [...args, path.join(dir, file)], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true });
    if (r.error) throw new Error(`${tool} did not run (${r.error.message}); fix: run \`bash scripts/setup.sh\` (Debian's prometheus, prometheus-alertmanager and prometheus-blackbox-exporter ship it)`);
    if (r.status !== 0) throw new Error(`${tool} refused ${file}:\n${r.stdout}${r.stderr}`);
    return `${r.stdout}${r.stderr}`;
}

const TARGETS = [
    { job: "patroni", services: ["pg-wkr1", "pg-wkr2"], networkName: "pg-net", port: 8008 },
    { job: "keycloak", services: ["swarm-etl-keycloak"], networkName: "swarm-etl-keycloak-net", port: 9000 },
    { job: "etl", services: ["etl-flights-pushgateway"], networkName: "spark-net", port: 9091, honorLabels: true },
];

describe("Prometheus' configuration", () => {
    const text = renderPrometheusConfig({ alertmanager: "obs-alertmanager:9093", targets: TARGETS, scrapeInterval: "15s" });

    test("promtool check config accepts it", () => {
        expect(check("promtool", ["check", "config"], "prometheus.yml", text)).toContain("SUCCESS");
    });

    test("each target: its service's running tasks on its one network, labelled node, service and task", () => {
        const cfg = parse(text);
        expect(cfg.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["obs-alertmanager:9093"]);
        expect(cfg.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual(["prometheus", "patroni", "keycloak", "etl"]);
        const kc = cfg.scrape_configs[2];
        expect(kc.dockerswarm_sd_configs).toEqual([{ host: "unix:///run/docker-ro/docker.sock", role: "tasks", port: 9000, refresh_interval: "15s", filters: [{ name: "service", values: ["swarm-etl-keycloak"] }] }]);
        expect(kc.relabel_configs).toEqual([
            { source_labels: ["__meta_dockerswarm_task_desired_state"], regex: "running", action: "keep" },
            { source_labels: ["__meta_dockerswarm_task_state"], regex: "running", action: "keep" },
            { source_labels: ["__meta_dockerswarm_network_name"], regex: "swarm-etl-keycloak-net", action: "keep" },
            { source_labels: ["__meta_dockerswarm_service_name"], regex: "swarm-etl-keycloak", action: "keep" },
            { source_labels: ["__meta_dockerswarm_node_hostname"], target_label: "node" },
            { source_labels: ["__meta_dockerswarm_service_name"], target_label: "service" },
            { source_labels: ["__meta_dockerswarm_task_id"], target_label: "task" },
        ]);
        expect(cfg.scrape_configs[3].honor_labels).toBe(true);
        expect(cfg.scrape_configs[1].honor_labels).toBeUndefined();
    });

    test("rules are evaluated at the scrape interval unless told otherwise (the lab: every 5 s, so an alert is sent soon after its for)", () => {
        expect(parse(text).global).toEqual({ scrape_interval: "15s", scrape_timeout: "10s", evaluation_interval: "15s" });
        const lab = renderPrometheusConfig({ alertmanager: "obs-alertmanager:9093", targets: TARGETS, scrapeInterval: "15s", evaluationInterval: "5s" });
        expect(parse(lab).global.evaluation_interval).toBe("5s");
        expect(parse(renderPrometheusConfig({ alertmanager: "a:9093", targets: TARGETS, scrapeTimeout: "5s" })).global.scrape_timeout).toBe("5s");
        expect(observabilityArgsProblems({ evaluationInterval: "5 s", alerting: { receivers: [], defaultReceiver: "x" } })[0]).toBe('evaluationInterval "5 s" is not a Prometheus duration; fix: e.g. 15d, 12h or 30s');
    });

    test("a job over several services (Patroni's members): all in the filter, exactly those kept", () => {
        const pat = parse(text).scrape_configs[1];
        expect(pat.dockerswarm_sd_configs[0].filters).toEqual([{ name: "service", values: ["pg-wkr1", "pg-wkr2"] }]);
        expect(pat.relabel_configs[3]).toEqual({ source_labels: ["__meta_dockerswarm_service_name"], regex: "pg-wkr1|pg-wkr2", action: "keep" });
    });

    test("a job declared twice is refused", () => {
        expect(() => renderPrometheusConfig({ alertmanager: "a:9093", targets: [TARGETS[0], TARGETS[0]] })).toThrow("scrape job patroni is declared twice");
    });
});

describe("Alertmanager's configuration", () => {
    const alerting = {
        receivers: [{ name: "ops", webhook: { url: "https://hooks.example.com/am" } }, { name: "oncall", webhook: { url: "http://pager:8080/hook" } }, { name: "quiet" }],
        defaultReceiver: "ops",
        routes: [{ matchers: ['severity="critical"'], receiver: "oncall" }, { matchers: ["alertname=~Etl.*"], receiver: "quiet" }],
    };

    test("amtool check-config accepts it: routes in order, webhooks with resolved notifications, a receiver without one", () => {
        const text = renderAlertmanagerConfig(alerting);
        expect(check("amtool", ["check-config"], "alertmanager.yml", text)).toContain("SUCCESS");
        const cfg = parse(text);
        expect(cfg.route).toMatchObject({ receiver: "ops", group_by: ["alertname", "service", "node"], routes: [{ matchers: ['severity="critical"'], receiver: "oncall" }, { matchers: ["alertname=~Etl.*"], receiver: "quiet" }] });
        expect(cfg.receivers).toEqual([
            { name: "ops", webhook_configs: [{ url: "https://hooks.example.com/am", send_resolved: true }] },
            { name: "oncall", webhook_configs: [{ url: "http://pager:8080/hook", send_resolved: true }] },
            { name: "quiet" },
        ]);
    });

    test("mail and a chat: amtool accepts them; their secrets are files, never in the config", () => {
        const text = renderAlertmanagerConfig({
            receivers: [
                { name: "ops", email: { to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", username: "am", passwordFile: "/run/secrets/obs-alerting-ops-smtp" }, chat: { urlFile: "/run/secrets/obs-alerting-ops-chat", channel: "#ops" } },
                { name: "relay", email: { to: "a@b.c", from: "d@e.f", smarthost: "relay:25", requireTls: false } },
            ],
            defaultReceiver: "ops",
        });
        expect(check("amtool", ["check-config"], "alertmanager.yml", text)).toContain("SUCCESS");
        expect(parse(text).receivers).toEqual([
            {
                name: "ops",
                email_configs: [{ to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", auth_username: "am", auth_password_file: "/run/secrets/obs-alerting-ops-smtp", require_tls: true, send_resolved: true }],
                slack_configs: [{ api_url_file: "/run/secrets/obs-alerting-ops-chat", channel: "#ops", send_resolved: true }],
            },
            { name: "relay", email_configs: [{ to: "a@b.c", from: "d@e.f", smarthost: "relay:25", require_tls: false, send_resolved: true }] },
        ]);
    });

    test("problems: a duplicate receiver, an unknown route target, a webhook that is not a URL, a bad duration", () => {
        expect(
            observabilityArgsProblems({
                retention: "2 weeks",
                alerting: { receivers: [{ name: "ops", webhook: { url: "hooks.example.com" } }, { name: "ops" }], defaultReceiver: "ops", routes: [{ matchers: [], receiver: "pager" }] },
            }),
        ).toEqual([
            'retention "2 weeks" is not a Prometheus duration; fix: e.g. 15d, 12h or 30s',
            "receiver ops is declared twice; fix: keep one",
            'receiver ops: webhook url "hooks.example.com" is not an http(s) URL; fix: e.g. https://hooks.example.com/alertmanager',
            'receiver "pager" is not declared (receivers: ops, ops); fix: declare it, or route to one of them',
        ]);
        expect(observabilityArgsProblems({ retention: "15d", scrapeInterval: "15s", alerting })).toEqual([]);
        expect(observabilityArgsProblems({ alerting: { receivers: [{ name: "m", email: { to: "ops", from: "a@b.c", smarthost: "smtp.example.com", password: "x" } }], defaultReceiver: "m" } })).toEqual([
            'receiver m: email to "ops" is not a mail address; fix: e.g. ops@example.com',
            'receiver m: email smarthost "smtp.example.com" is not host:port; fix: e.g. smtp.example.com:587',
            "receiver m: email has a password but no username; fix: set its username too",
        ]);
    });
});

describe("the receivers' secrets (mocks)", () => {
    let registered: Registered[];
    beforeAll(async () => {
        registered = installMocks();
        const obs = new Observability("obs", {
            ...MINIMAL,
            images: { prometheus: "r/p@sha256:1", alertmanager: "r/a@sha256:2", nodeExporter: "r/n@sha256:3", swarmExporter: "r/s@sha256:4", socketProxy: "r/x@sha256:5" },
            alerting: {
                receivers: [{ name: "ops", email: { to: "ops@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", username: "am", password: pulumi.secret("smtp-pass-1") }, chat: { url: pulumi.secret("https://chat.example.com/hooks/tok-2") } }],
                defaultReceiver: "ops",
            },
        });
        await valueOf(pulumi.output(obs.alertmanager.urn));
    });

    test("each a Swarm secret mounted in Alertmanager alone (its uid, 0400), the config naming the files, no value in any config or service", () => {
        const secrets = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:Secret").map((r) => r.name).sort();
        expect(secrets).toEqual(["obs-alerting-ops-chat", "obs-alerting-ops-smtp"]);
        const am = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === "obs-alertmanager")!.inputs as Record<string, any>;
        expect(am.secrets.map((s: { target: string; uid: string; mode: number }) => [s.target, s.uid, s.mode])).toEqual([
            ["obs-alerting-ops-smtp", ALERTMANAGER_UID, 0o400],
            ["obs-alerting-ops-chat", ALERTMANAGER_UID, 0o400],
        ]);
        const conf = parse(registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config" && r.name === "obs-alertmanager")!.inputs.data as string);
        expect(conf.receivers[0].email_configs[0].auth_password_file).toBe("/run/secrets/obs-alerting-ops-smtp");
        expect(conf.receivers[0].slack_configs[0].api_url_file).toBe("/run/secrets/obs-alerting-ops-chat");
        const others = JSON.stringify(registered.filter((r) => r.type !== "pulumi-nodejs:dynamic/swarm:Secret").map((r) => r.inputs));
        for (const v of ["smtp-pass-1", "tok-2"]) expect(others).not.toContain(v);
        const others2 = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service").filter((r) => r.name !== "obs-alertmanager");
        expect(others2.filter((r) => JSON.stringify(r.inputs.secrets ?? []).includes("alerting"))).toEqual([]);
    });
});

/** The least an Observability needs: one manager, no targets, one receiver. */
const CONN = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: "k" } as never;
const MINIMAL = { connection: CONN, privateKey: "key", node: "mgr1", nodeConnection: CONN, targets: [], alerting: { receivers: [{ name: "d" }], defaultReceiver: "d" }, thresholds: { slackSeconds: 7200 } };

describe("the Observability component (mocks)", () => {
    let registered: Registered[];
    beforeAll(async () => {
        registered = installMocks();
        const obs = new Observability("obs", {
            connection: CONN,
            privateKey: "key",
            node: "mgr1",
            nodeConnection: CONN,
            images: { prometheus: "r/p@sha256:1", alertmanager: "r/a@sha256:2", nodeExporter: "r/n@sha256:3", swarmExporter: "r/s@sha256:4", socketProxy: "r/x@sha256:5" },
            retention: "7d",
            targets: TARGETS.map((t) => ({ ...t, networkId: `id-${t.networkName}` })),
            alerting: { receivers: [{ name: "default" }], defaultReceiver: "default" },
            thresholds: { slackSeconds: 7200 },
            endpointMode: "dnsrr",
        });
        await valueOf(pulumi.output(obs.prometheus.urn));
    });
    const svc = (name: string) => registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === name)!.inputs as Record<string, any>;

    test("only the socket proxy mounts the Docker socket: read only, on a manager, no network; its readers mount its socket's volume read only", () => {
        const mountsSocket = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && JSON.stringify(r.inputs.mounts ?? []).includes("docker.sock"));
        expect(mountsSocket.map((r) => r.name)).toEqual(["obs-socket-proxy"]);
        const proxy = svc("obs-socket-proxy");
        expect(proxy.mounts[0]).toEqual({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true });
        expect(proxy.constraints[0]).toBe("node.role==manager");
        expect(proxy.networks).toBeUndefined();
        expect(proxy.labels["swarm-etl.docker-api"]).toBe("read-only-proxy");
        expect(proxy.mode).toBeUndefined(); // without cAdvisor: on the observability node only
        for (const reader of ["obs-prometheus", "obs-swarm-exporter"]) expect(svc(reader).mounts).toContainEqual({ type: "volume", source: "obs-docker-ro", target: "/run/docker-ro", readOnly: true });
    });

    test("Prometheus joins its own network and every target's, keeps its TSDB on a volume, retention from the arguments", () => {
        const p = svc("obs-prometheus");
        expect(p.networks).toEqual(["net-obs-net", "id-pg-net", "id-swarm-etl-keycloak-net", "id-spark-net"]);
        expect(p.args).toEqual(["--storage.tsdb.retention.time=7d"]);
        expect(p.mounts[0]).toEqual({ type: "volume", source: "obs-prometheus-data", target: "/data" });
        expect(p.configs.map((c: { target: string }) => c.target)).toEqual(["/etc/prometheus/prometheus.yml", "/etc/prometheus/rules/platform.yml", "/etc/prometheus/rules/thresholds.yml"]);
        expect(p.labels).toMatchObject({ "swarm-etl.stateful": "true", "swarm-etl.ui": "true" });
        expect(p.ports).toBeUndefined();
    });

    test("node-exporter on every node with the host's /proc, /sys and / read only; Alertmanager's silences on a volume", () => {
        const n = svc("obs-node-exporter");
        expect(n.mode).toBe("global");
        expect(n.mounts.map((m: { source: string; target: string; readOnly: boolean }) => [m.source, m.target, m.readOnly])).toEqual([["/proc", "/host/proc", true], ["/sys", "/host/sys", true], ["/", "/host/root", true]]);
        expect(svc("obs-alertmanager").mounts).toEqual([{ type: "volume", source: "obs-alertmanager-data", target: "/data" }]);
        expect(svc("obs-alertmanager").args).toEqual(["--data.maintenance-interval=1m"]); // silences on the volume every minute
    });

    test("the rule files are Swarm configs: the static rules as they are, the thresholds rendered", () => {
        const configs = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config");
        expect(configs.map((c) => c.name).sort()).toEqual(["obs-alertmanager", "obs-prometheus", "obs-rules", "obs-thresholds"]);
        const rules = configs.find((c) => c.name === "obs-rules")!.inputs.data as string;
        expect(rules).toContain("alert: PostgresNoPrimary");
        const promText = configs.find((c) => c.name === "obs-prometheus")!.inputs.data as string;
        expect(check("promtool", ["check", "config"], "prometheus.yml", promText)).toContain("SUCCESS");
        const prom = parse(promText);
        expect(prom.scrape_configs.map((j: { job_name: string }) => j.job_name)).toEqual(["prometheus", "node", "swarm", "alertmanager", "patroni", "keycloak", "etl"]);
        // The swarm exporter's metrics keep their own node and service; the exporter's are not added to them.
        const swarm = prom.scrape_configs[2];
        expect(swarm.honor_labels).toBe(true);
        expect(swarm.metric_relabel_configs).toEqual([
            { source_labels: ["__name__"], regex: "swarm_service_.*", target_label: "node", replacement: "" },
            { source_labels: ["__name__"], regex: "swarm_service_.*", target_label: "task", replacement: "" },
            { source_labels: ["__name__"], regex: "swarm_node_.*", target_label: "service", replacement: "" },
            { source_labels: ["__name__"], regex: "swarm_node_.*", target_label: "task", replacement: "" },
        ]);
    });
});

describe("the certificates' expiry: TLS probes through the blackbox exporter", () => {
    const PROBE = { job: "edge-tls", target: "edge:8443", serverName: "auth.example.com", networkName: "edge-net" };

    test("the blackbox exporter accepts its modules (--config.check): TCP with TLS, the probe's SNI", () => {
        const text = renderBlackboxConfig([PROBE]);
        expect(check("prometheus-blackbox-exporter", ["--config.check", "--config.file"], "blackbox.yml", text)).toMatch(/Config file is ok/i);
        expect(parse(text).modules.tls_edge_tls).toEqual({ prober: "tcp", timeout: "5s", tcp: { tls: true, tls_config: { server_name: "auth.example.com", insecure_skip_verify: true } } });
        // The check can fail: a field the exporter does not know is refused.
        expect(() => check("prometheus-blackbox-exporter", ["--config.check", "--config.file"], "blackbox.yml", text.replace("insecure_skip_verify", "skip_verify"))).toThrow(/field skip_verify not found/);
    });

    test("Prometheus asks the exporter to probe each target with its module; promtool accepts it; a probe needs the exporter", () => {
        const text = renderPrometheusConfig({ alertmanager: "a:9093", targets: TARGETS, tlsProbes: [PROBE], blackbox: "obs-blackbox:9115" });
        expect(check("promtool", ["check", "config"], "prometheus.yml", text)).toContain("SUCCESS");
        const job = parse(text).scrape_configs.find((j: { job_name: string }) => j.job_name === "edge-tls");
        expect(job).toEqual({
            job_name: "edge-tls",
            metrics_path: "/probe",
            params: { module: ["tls_edge_tls"] },
            static_configs: [{ targets: ["edge:8443"], labels: { server_name: "auth.example.com" } }],
            relabel_configs: [
                { source_labels: ["__address__"], target_label: "__param_target" },
                { source_labels: ["__param_target"], target_label: "instance" },
                { target_label: "__address__", replacement: "obs-blackbox:9115" },
            ],
        });
        expect(() => renderPrometheusConfig({ alertmanager: "a:9093", targets: [], tlsProbes: [PROBE] })).toThrow(/blackbox/);
    });

    test("the component: the exporter on its network and the probed endpoint's, only when there are probes; their problems named", async () => {
        const registered = installMocks();
        const images = { prometheus: "p", alertmanager: "a", nodeExporter: "n", swarmExporter: "s", socketProxy: "x" };
        const base = MINIMAL;
        const obs = new Observability("obs", { ...base, images: { ...images, blackbox: "b" }, tlsProbes: [{ ...PROBE, networkId: "id-edge-net" }] });
        await valueOf(pulumi.output(obs.prometheus.urn));
        const bb = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === "obs-blackbox")!.inputs as Record<string, any>;
        expect(bb.networks).toEqual(["net-obs-net", "id-edge-net"]);
        expect(bb.args).toEqual(["--config.file=/etc/prometheus/blackbox.yml", "--web.listen-address=:9115"]);
        expect(bb.mounts).toBeUndefined();
        expect(obs.jobs).toContain("edge-tls");
        const without = installMocks();
        const plain = new Observability("plain", { ...base, images });
        await valueOf(pulumi.output(plain.prometheus.urn));
        expect(without.some((r) => r.name === "plain-blackbox")).toBe(false);
        expect(observabilityArgsProblems({ ...base, images, tlsProbes: [{ ...PROBE, target: "edge", networkId: "n" }] })).toEqual([
            "tlsProbes edge-tls need the blackbox exporter's image; fix: set images.blackbox (observability-blackbox, built by images/build.sh)",
            'tlsProbes edge-tls: target "edge" is not host:port; fix: e.g. edge:8443',
        ]);
    });
});

describe("container metrics: cAdvisor on every node (mocks)", () => {
    let registered: Registered[];
    beforeAll(async () => {
        registered = installMocks();
        const obs = new Observability("obs", { ...MINIMAL, images: { prometheus: "p", alertmanager: "a", nodeExporter: "n", swarmExporter: "s", socketProxy: "x", cadvisor: "c" } });
        expect(obs.names.cadvisor).toBe("obs-cadvisor");
        await valueOf(pulumi.output(obs.prometheus.urn));
    });
    const svc = (name: string) => registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === name)!.inputs as Record<string, any>;

    test("cAdvisor: global, the node's /sys and / read only, its daemon only through the node's socket proxy (global then), no socket of its own", () => {
        const c = svc("obs-cadvisor");
        expect(c.mode).toBe("global");
        expect(c.mounts).toEqual([
            { type: "bind", source: "/sys", target: "/sys", readOnly: true },
            { type: "bind", source: "/", target: "/rootfs", readOnly: true },
            { type: "volume", source: "obs-docker-ro", target: "/run/docker-ro", readOnly: true },
        ]);
        expect(c.args).toEqual(["-listen=:8080", "-docker=unix:///run/docker-ro/docker.sock", "-docker_only", "-housekeeping_interval=10s", "-max_housekeeping_interval=15s", "-logtostderr"]);
        expect(c.ports).toBeUndefined();
        const proxy = svc("obs-socket-proxy");
        expect(proxy.mode).toBe("global");
        expect(proxy.constraints).toBeUndefined();
        expect(proxy.labels["swarm-etl.docker-api"]).toBe("read-only-proxy");
    });

    test("its job: a container's series take service and task from the container's Swarm labels (which are dropped); its own series keep cAdvisor's", () => {
        const promText = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Config" && r.name === "obs-prometheus")!.inputs.data as string;
        expect(check("promtool", ["check", "config"], "prometheus.yml", promText)).toContain("SUCCESS");
        const job = parse(promText).scrape_configs.find((j: { job_name: string }) => j.job_name === "container");
        expect(job.dockerswarm_sd_configs[0]).toMatchObject({ role: "tasks", port: 8080, filters: [{ name: "service", values: ["obs-cadvisor"] }] });
        expect(job.metric_relabel_configs).toEqual([
            { source_labels: ["__name__", "container_label_com_docker_swarm_service_name"], regex: "(?:container_.*);(.*)", target_label: "service", replacement: "$1" },
            { source_labels: ["__name__", "container_label_com_docker_swarm_task_name"], regex: "(?:container_.*);(.*)", target_label: "task", replacement: "$1" },
            { regex: "container_label_com_docker_swarm_service_name|container_label_com_docker_swarm_task_name", action: "labeldrop" },
        ]);
    });
});
