// Observability: metrics and alerts for the whole platform (docs/observability.md).
//
// - Prometheus (Debian's, images/prometheus) on one manager, its TSDB on a volume there, retention
//   from config; it finds every target through Swarm's own service discovery (role tasks) on the
//   Docker API, read through a socket proxy (HAProxy, images/socket-proxy) that lets only GETs of
//   the swarm's objects through, on a unix socket in a volume — never the raw socket, never TCP.
// - Its rules: the static alerts (rules/platform.rules.yml) and the thresholds rendered from the
//   stack's schedules (thresholds.ts), both Swarm configs.
// - Alertmanager beside it, its silences and notification log on a volume (they survive a restart),
//   routes and receivers from config.
// - node-exporter on every node (global), and the swarm exporter (images/swarm-exporter): nodes'
//   state and Raft reachability, services' desired and running tasks, failed tasks.
// - cAdvisor on every node (global, images/cadvisor, when its image is given): each container's CPU,
//   memory, network and block I/O from its node's cgroups, under its Swarm service, task and node.
//   It asks its own node's daemon about each container through that node's socket proxy (the proxy
//   is global: on the managers it also serves the swarm's objects).
// Every other part of the platform is a ScrapeTarget its component names (service, network, port,
// path); Prometheus joins those networks.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Config, HostConnection, ImageCheck, Network, Secret, Service, ServiceSecretRef, Volume } from "../../../providers/swarm";
import { AlertmanagerRender, CADVISOR_LABELS, EmailReceiver, DOCKER_RO_DIR, MetricsTarget, PORTS, Receiver, renderAlertmanagerConfig, renderBlackboxConfig, renderPrometheusConfig, RULES_DIR, ScrapeTarget, TEXTFILE_DIR, TlsProbe } from "./render";
import { renderThresholds, ThresholdInputs } from "./thresholds";
import { controlLabels } from "../../placement";

/** The images, by their names in `swarm-etl:images`. */
export const OBSERVABILITY_IMAGES = {
    prometheus: "observability-prometheus",
    alertmanager: "observability-alertmanager",
    nodeExporter: "observability-node-exporter",
    swarmExporter: "observability-swarm-exporter",
    socketProxy: "observability-socket-proxy",
    blackbox: "observability-blackbox",
    cadvisor: "observability-cadvisor",
} as const;

/** The images one may leave out: the blackbox exporter (needed with `tlsProbes`) and cAdvisor (no container metrics without it). */
type OptionalImage = "blackbox" | "cadvisor";

/** The static alerting rules, as Prometheus loads them. */
export const RULES_FILE = path.join(__dirname, "rules", "platform.rules.yml");

export interface ObservabilityArgs {
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** The node that holds Prometheus' and Alertmanager's data (a manager: service discovery reads the managers' API), and its own connection. */
    readonly node: string;
    readonly nodeConnection: HostConnection;
    /** The images (the blackbox exporter's only with `tlsProbes`; without cAdvisor's there are no per-container metrics). */
    readonly images: { readonly [K in Exclude<keyof typeof OBSERVABILITY_IMAGES, OptionalImage>]: pulumi.Input<string> } & { readonly [K in OptionalImage]?: pulumi.Input<string> };
    /** How long Prometheus keeps samples. @default - 15d */
    readonly retention?: string;
    /** @default - 15s */
    readonly scrapeInterval?: string;
    /** How often Alertmanager writes its silences and notification log to its volume: a crash loses at most this much of them. @default - 1m */
    readonly snapshotInterval?: string;
    /** How long a scrape may take before its target counts as down (a dead node's targets time out). @default - 10s */
    readonly scrapeTimeout?: string;
    /** How often the rules are evaluated: an alert reaches Alertmanager up to this much after its condition holds for its `for`. @default - the scrape interval */
    readonly evaluationInterval?: string;
    /** The platform's other targets, each with the network Prometheus reaches it on. */
    readonly targets: readonly MetricsTarget[];
    /** TLS endpoints whose certificates are watched (the edge's), each with the network the blackbox exporter reaches it on. @default - none */
    readonly tlsProbes?: readonly (TlsProbe & { readonly networkId: pulumi.Input<string> })[];
    readonly alerting: AlertingArgs;
    readonly thresholds: ThresholdInputs;
    /** Networks Prometheus and Alertmanager also join, where the edge reaches their UIs (the edge's own). @default - none */
    readonly uiNetworkIds?: readonly pulumi.Input<string>[];
    readonly endpointMode?: "vip" | "dnsrr";
    /** @default - true */
    readonly encrypted?: boolean;
}

/** Alertmanager's image runs as this uid (its Dockerfile): the receivers' secrets are its alone. */
export const ALERTMANAGER_UID = "993";

/** A receiver as the component takes it: its secrets (the relay's password, the chat's webhook URL) as values, which become Swarm secrets Alertmanager reads as files. */
export interface ReceiverArgs {
    readonly name: string;
    readonly webhook?: { readonly url: string };
    readonly email?: Omit<EmailReceiver, "passwordFile"> & { readonly password?: pulumi.Input<string> };
    readonly chat?: { readonly url: pulumi.Input<string>; readonly channel?: string };
}

export interface AlertingArgs extends Omit<AlertmanagerRender, "receivers"> {
    readonly receivers: readonly ReceiverArgs[];
}

const HOST_PORT_RE = /^[^\s:/]+:\d+$/;
const MAIL_RE = /^[^\s@]+@[^\s@]+$/;

const DURATION_RE = /^[1-9]\d*(?:ms|s|m|h|d|w|y)$/;

/** What is wrong with the arguments, each with its fix (the config schema reports them under their keys first). */
export function observabilityArgsProblems(a: Pick<ObservabilityArgs, "retention" | "scrapeInterval" | "scrapeTimeout" | "evaluationInterval" | "snapshotInterval" | "alerting"> & Partial<Pick<ObservabilityArgs, "tlsProbes" | "images">>): string[] {
    const out: string[] = [];
    if (a.tlsProbes?.length && a.images && !a.images.blackbox) out.push(`tlsProbes ${a.tlsProbes.map((p) => p.job).join(", ")} need the blackbox exporter's image; fix: set images.blackbox (${OBSERVABILITY_IMAGES.blackbox}, built by images/build.sh)`);
    for (const p of a.tlsProbes ?? []) if (!/^[^\s:]+:\d+$/.test(p.target)) out.push(`tlsProbes ${p.job}: target ${JSON.stringify(p.target)} is not host:port; fix: e.g. edge:8443`);
    for (const [k, v] of [["retention", a.retention], ["scrapeInterval", a.scrapeInterval], ["evaluationInterval", a.evaluationInterval], ["snapshotInterval", a.snapshotInterval], ["scrapeTimeout", a.scrapeTimeout]] as const)
        if (v !== undefined && !DURATION_RE.test(v)) out.push(`${k} ${JSON.stringify(v)} is not a Prometheus duration; fix: e.g. 15d, 12h or 30s`);
    const names = a.alerting.receivers.map((r) => r.name);
    names.forEach((n, i) => {
        if (names.indexOf(n) !== i) out.push(`receiver ${n} is declared twice; fix: keep one`);
    });
    for (const r of a.alerting.receivers) if (r.webhook && !/^https?:\/\/\S+$/.test(r.webhook.url)) out.push(`receiver ${r.name}: webhook url ${JSON.stringify(r.webhook.url)} is not an http(s) URL; fix: e.g. https://hooks.example.com/alertmanager`);
    for (const r of a.alerting.receivers) {
        if (!r.email) continue;
        for (const k of ["to", "from"] as const) if (!MAIL_RE.test(r.email[k])) out.push(`receiver ${r.name}: email ${k} ${JSON.stringify(r.email[k])} is not a mail address; fix: e.g. ops@example.com`);
        if (!HOST_PORT_RE.test(r.email.smarthost)) out.push(`receiver ${r.name}: email smarthost ${JSON.stringify(r.email.smarthost)} is not host:port; fix: e.g. smtp.example.com:587`);
        if (r.email.password !== undefined && !r.email.username) out.push(`receiver ${r.name}: email has a password but no username; fix: set its username too`);
    }
    for (const name of [a.alerting.defaultReceiver, ...(a.alerting.routes ?? []).map((r) => r.receiver)])
        if (!names.includes(name)) out.push(`receiver ${JSON.stringify(name)} is not declared (receivers: ${names.join(", ") || "none"}); fix: declare it, or route to one of them`);
    return out;
}

export class Observability extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly prometheus: Service;
    public readonly alertmanager: Service;
    public readonly nodeExporter: Service;
    public readonly swarmExporter: Service;
    public readonly socketProxy: Service;
    /** The blackbox exporter, with `tlsProbes`. */
    public readonly blackbox: Service | undefined;
    /** cAdvisor on every node, with its image. */
    public readonly cadvisor: Service | undefined;
    /** Service names, for the edge and the tests. */
    public readonly names: { readonly prometheus: string; readonly alertmanager: string; readonly nodeExporter: string; readonly swarmExporter: string; readonly cadvisor: string };
    /** The jobs Prometheus scrapes (its own, then one per target). */
    public readonly jobs: string[];

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Observability", name, {}, opts);
        const problems = observabilityArgsProblems(args);
        if (problems.length) throw new Error(`Observability ${name}: ${problems.join("; ")}`);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const nodeConn = { connection: args.nodeConnection, privateKey: conn.privateKey };
        const child = { parent: this, dependsOn: opts?.dependsOn };
        const labels = { "swarm-etl.stack": name };
        const endpointMode = args.endpointMode ?? "vip";
        const n = (s: string) => `${name}-${s}`;
        this.names = { prometheus: n("prometheus"), alertmanager: n("alertmanager"), nodeExporter: n("node-exporter"), swarmExporter: n("swarm-exporter"), cadvisor: n("cadvisor") };

        // Its node can pull every image before a service changes.
        const check = new ImageCheck(n("images"), { ...nodeConn, images: Object.values(args.images).filter((i) => i !== undefined) }, child);
        const after = pulumi.mergeOptions(child, { dependsOn: [check] });

        this.network = new Network(n("net"), { ...conn, name: n("net"), attachable: false, encrypted: args.encrypted ?? true, labels }, child);
        const data = new Volume(n("prometheus-data"), { ...nodeConn, name: n("prometheus-data"), labels }, child);
        const amData = new Volume(n("alertmanager-data"), { ...nodeConn, name: n("alertmanager-data"), labels }, child);
        const dockerRo = new Volume(n("docker-ro"), { ...nodeConn, name: n("docker-ro"), labels }, child);
        const roMount = { type: "volume" as const, source: n("docker-ro"), target: DOCKER_RO_DIR, readOnly: true };
        const health = (port: number, p: string) => ({ test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${port}${p}`], interval: "10s", timeout: "3s", retries: 3, startPeriod: "20s" });
        const restartPolicy = { condition: "any" as const, delay: "2s" };

        // The Docker API, read only: for Prometheus' discovery and the swarm exporter on the
        // observability node (a manager) and, with cAdvisor, on every node for its containers' labels.
        // No network, no port: its socket is in a volume of its node that only its readers mount.
        const proxyEverywhere = args.images.cadvisor !== undefined;
        this.socketProxy = new Service(
            n("socket-proxy"),
            {
                ...conn,
                name: n("socket-proxy"),
                image: args.images.socketProxy,
                ...(proxyEverywhere ? { mode: "global" as const } : { constraints: ["node.role==manager", dockerRo.constraint] }),
                mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }, { type: "volume", source: n("docker-ro"), target: DOCKER_RO_DIR }],
                healthcheck: { test: ["CMD", "test", "-S", `${DOCKER_RO_DIR}/docker.sock`], interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s" },
                restartPolicy,
                resources: { limits: { cpus: 0.25, memory: "64M" } },
                labels: { ...labels, ...controlLabels, "swarm-etl.role": "docker-api-proxy", "swarm-etl.docker-api": "read-only-proxy", "swarm-etl.stateful": "false" },
            },
            after,
        );

        if (args.images.cadvisor !== undefined) {
            this.cadvisor = new Service(
                this.names.cadvisor,
                {
                    ...conn,
                    name: this.names.cadvisor,
                    image: args.images.cadvisor,
                    args: [`-listen=:${PORTS.cadvisor}`, `-docker=unix://${DOCKER_RO_DIR}/docker.sock`, "-docker_only", "-housekeeping_interval=10s", "-max_housekeeping_interval=15s", "-logtostderr"],
                    mode: "global",
                    networks: [this.network.networkId],
                    endpointMode,
                    mounts: [
                        // The node's cgroups (each container's usage), and its / at /rootfs: cAdvisor
                        // then reads a container's network counters in the node's /proc.
                        { type: "bind", source: "/sys", target: "/sys", readOnly: true },
                        { type: "bind", source: "/", target: "/rootfs", readOnly: true },
                        roMount,
                    ],
                    healthcheck: health(PORTS.cadvisor, "/healthz"),
                    restartPolicy,
                    resources: { limits: { cpus: 0.25, memory: "128M" } },
                    labels: { ...labels, ...controlLabels, "swarm-etl.role": "cadvisor", "swarm-etl.stateful": "false" },
                },
                pulumi.mergeOptions(after, { dependsOn: [this.socketProxy] }),
            );
        }

        this.nodeExporter = new Service(
            this.names.nodeExporter,
            {
                ...conn,
                name: this.names.nodeExporter,
                image: args.images.nodeExporter,
                // Metrics files a node holds (the delivery workflows', .github/scripts/delivery-metrics.sh), through the read-only /.
                args: [`--collector.textfile.directory=/host/root${TEXTFILE_DIR}`],
                mode: "global",
                networks: [this.network.networkId],
                endpointMode,
                mounts: [
                    { type: "bind", source: "/proc", target: "/host/proc", readOnly: true },
                    { type: "bind", source: "/sys", target: "/host/sys", readOnly: true },
                    // Private propagation: rslave needs / to be a shared mount, which the lab's hosts' is not.
                    { type: "bind", source: "/", target: "/host/root", readOnly: true },
                ],
                healthcheck: health(PORTS.nodeExporter, "/metrics"),
                restartPolicy,
                resources: { limits: { cpus: 0.25, memory: "64M" } },
                labels: { ...labels, ...controlLabels, "swarm-etl.role": "node-exporter", "swarm-etl.stateful": "false" },
            },
            after,
        );

        this.swarmExporter = new Service(
            this.names.swarmExporter,
            {
                ...conn,
                name: this.names.swarmExporter,
                image: args.images.swarmExporter,
                networks: [this.network.networkId],
                endpointMode,
                constraints: [dockerRo.constraint],
                mounts: [roMount],
                healthcheck: health(PORTS.swarmExporter, "/metrics"),
                restartPolicy,
                resources: { limits: { cpus: 0.25, memory: "96M" } },
                labels: { ...labels, ...controlLabels, "swarm-etl.role": "swarm-exporter", "swarm-etl.stateful": "false" },
            },
            pulumi.mergeOptions(after, { dependsOn: [this.socketProxy] }),
        );

        // The receivers' secrets: a Swarm secret each, read by Alertmanager (and nobody else) as a file.
        const amSecrets: ServiceSecretRef[] = [];
        const secretFile = (receiver: string, kind: string, value: pulumi.Input<string>) => {
            const key = n(`alerting-${receiver}-${kind}`);
            const secret = new Secret(key, { ...conn, name: key, data: pulumi.secret(value), labels }, child);
            amSecrets.push({ secretId: secret.secretId, secretName: secret.secretName, target: key, uid: ALERTMANAGER_UID, gid: ALERTMANAGER_UID, mode: 0o400 });
            return `/run/secrets/${key}`;
        };
        const receivers: Receiver[] = args.alerting.receivers.map((r) => ({
            name: r.name,
            webhook: r.webhook,
            email: r.email && { to: r.email.to, from: r.email.from, smarthost: r.email.smarthost, username: r.email.username, requireTls: r.email.requireTls, passwordFile: r.email.password !== undefined ? secretFile(r.name, "smtp", r.email.password) : undefined },
            chat: r.chat && { channel: r.chat.channel, urlFile: secretFile(r.name, "chat", r.chat.url) },
        }));
        const amConf = new Config(n("alertmanager"), { ...conn, name: n("alertmanager"), data: renderAlertmanagerConfig({ ...args.alerting, receivers }), labels }, child);
        this.alertmanager = new Service(
            this.names.alertmanager,
            {
                ...conn,
                name: this.names.alertmanager,
                image: args.images.alertmanager,
                args: [`--data.maintenance-interval=${args.snapshotInterval ?? "1m"}`],
                networks: [this.network.networkId, ...(args.uiNetworkIds ?? [])],
                endpointMode,
                constraints: [amData.constraint],
                mounts: [{ type: "volume", source: n("alertmanager-data"), target: "/data" }],
                configs: [{ configId: amConf.configId, configName: amConf.configName, target: "/etc/alertmanager/alertmanager.yml" }],
                ...(amSecrets.length ? { secrets: amSecrets } : {}),
                healthcheck: health(PORTS.alertmanager, "/-/ready"),
                restartPolicy,
                stopGracePeriod: "10s",
                updateConfig: { parallelism: 1, order: "stop-first" },
                resources: { limits: { cpus: 0.25, memory: "128M" } },
                labels: { ...labels, ...controlLabels, "swarm-etl.role": "alertmanager", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
            },
            after,
        );

        const obsNet = n("net");
        const own: ScrapeTarget[] = [
            { job: "node", services: [this.names.nodeExporter], networkName: obsNet, port: PORTS.nodeExporter },
            // Its metrics describe other nodes and services: their own node and service labels win, and
            // the exporter's own node, service and task are not added where they would mislead.
            {
                job: "swarm",
                services: [this.names.swarmExporter],
                networkName: obsNet,
                port: PORTS.swarmExporter,
                honorLabels: true,
                notAbout: [
                    { metrics: "swarm_service_.*", labels: ["node", "task"] },
                    { metrics: "swarm_node_.*", labels: ["service", "task"] },
                ],
            },
            { job: "alertmanager", services: [this.names.alertmanager], networkName: obsNet, port: PORTS.alertmanager },
            // Its container_* series are about other containers: their service and task are the
            // containers' own (from their Swarm labels); node stays (cAdvisor runs on theirs).
            ...(this.cadvisor
                ? [{ job: "container", services: [this.names.cadvisor], networkName: obsNet, port: PORTS.cadvisor, labelsFrom: [{ metrics: "container_.*", labels: { service: CADVISOR_LABELS.service, task: CADVISOR_LABELS.task } }] }]
                : []),
        ];
        const targets = [...own, ...args.targets.map(({ networkId: _, ...t }) => t)];
        const probes = (args.tlsProbes ?? []).map(({ networkId: _, ...p }) => p);
        this.jobs = ["prometheus", ...targets.map((t) => t.job), ...probes.map((p) => p.job)];
        // The certificates' expiry: the blackbox exporter connects to each TLS endpoint (Prometheus asks it, /probe).
        const blackboxName = n("blackbox");
        if (probes.length) {
            const bbConf = new Config(blackboxName, { ...conn, name: blackboxName, data: renderBlackboxConfig(probes), labels }, child);
            this.blackbox = new Service(
                blackboxName,
                {
                    ...conn,
                    name: blackboxName,
                    image: args.images.blackbox!,
                    args: ["--config.file=/etc/prometheus/blackbox.yml", `--web.listen-address=:${PORTS.blackbox}`],
                    networks: [...new Set([this.network.networkId as pulumi.Input<string>, ...(args.tlsProbes ?? []).map((p) => p.networkId)])],
                    endpointMode,
                    configs: [{ configId: bbConf.configId, configName: bbConf.configName, target: "/etc/prometheus/blackbox.yml" }],
                    healthcheck: health(PORTS.blackbox, "/-/healthy"),
                    restartPolicy,
                    resources: { limits: { cpus: 0.25, memory: "64M" } },
                    labels: { ...labels, "swarm-etl.role": "blackbox-exporter", "swarm-etl.stateful": "false" },
                },
                after,
            );
        }
        const promConf = new Config(n("prometheus"), { ...conn, name: n("prometheus"), data: renderPrometheusConfig({ alertmanager: `${this.names.alertmanager}:${PORTS.alertmanager}`, targets, scrapeInterval: args.scrapeInterval, scrapeTimeout: args.scrapeTimeout, evaluationInterval: args.evaluationInterval, tlsProbes: probes, blackbox: `${blackboxName}:${PORTS.blackbox}` }), labels }, child);
        const rules = new Config(n("rules"), { ...conn, name: n("rules"), data: fs.readFileSync(RULES_FILE, "utf8"), labels }, child);
        const thresholds = new Config(n("thresholds"), { ...conn, name: n("thresholds"), data: renderThresholds(args.thresholds), labels }, child);
        // Each network once (targets of one component share theirs).
        const networks = pulumi.all([this.network.networkId, ...args.targets.map((t) => t.networkId), ...(args.uiNetworkIds ?? [])]).apply((ids) => [...new Set(ids)]);

        this.prometheus = new Service(
            this.names.prometheus,
            {
                ...conn,
                name: this.names.prometheus,
                image: args.images.prometheus,
                args: [`--storage.tsdb.retention.time=${args.retention ?? "15d"}`],
                networks,
                endpointMode,
                constraints: [data.constraint],
                mounts: [{ type: "volume", source: n("prometheus-data"), target: "/data" }, roMount],
                configs: [
                    { configId: promConf.configId, configName: promConf.configName, target: "/etc/prometheus/prometheus.yml" },
                    { configId: rules.configId, configName: rules.configName, target: `${RULES_DIR}/platform.yml` },
                    { configId: thresholds.configId, configName: thresholds.configName, target: `${RULES_DIR}/thresholds.yml` },
                ],
                healthcheck: health(PORTS.prometheus, "/-/ready"),
                restartPolicy,
                // Its TSDB takes a lock: the old task stops before the new one starts.
                stopGracePeriod: "30s",
                updateConfig: { parallelism: 1, order: "stop-first" },
                resources: { limits: { cpus: 1, memory: "1G" } },
                labels: { ...labels, ...controlLabels, "swarm-etl.role": "prometheus", "swarm-etl.stateful": "true", "swarm-etl.ui": "true" },
            },
            pulumi.mergeOptions(after, { dependsOn: [this.socketProxy, this.alertmanager, ...(this.blackbox ? [this.blackbox] : [])] }),
        );
        this.registerOutputs({});
    }
}

export type { MetricsTarget, Receiver, ScrapeTarget, TlsProbe };
