// What the observability services read (pure): Prometheus' configuration — every target found
// through Swarm's own service discovery (dockerswarm_sd_configs, role tasks, on the read-only
// socket), labelled with its node and service — and Alertmanager's routes and receivers.
import type { Input } from "@pulumi/pulumi";
import { stringify } from "yaml";

/** Where Prometheus reads the Docker API: the socket proxy's socket, in the volume both mount. */
export const DOCKER_RO_DIR = "/run/docker-ro";
export const DOCKER_RO_SOCKET = `unix://${DOCKER_RO_DIR}/docker.sock`;
export const RULES_DIR = "/etc/prometheus/rules";
/** A node's directory of metrics files (node-exporter's textfile collector): the delivery workflows write theirs there. */
export const TEXTFILE_DIR = "/var/lib/swarm-etl/metrics";
export const PORTS = { prometheus: 9090, alertmanager: 9093, nodeExporter: 9100, swarmExporter: 9324, blackbox: 9115, cadvisor: 8080 } as const;

/** cAdvisor's labels for a container's Swarm service and task (its -labels, as Prometheus names them). */
export const CADVISOR_LABELS = { service: "container_label_com_docker_swarm_service_name", task: "container_label_com_docker_swarm_task_name" } as const;

/** A service whose tasks Prometheus scrapes. */
export interface ScrapeTarget {
    /** The job label (node, patroni, keycloak, spark-master…). */
    readonly job: string;
    /** The Swarm services whose tasks are the job's targets (one each, or one per member). */
    readonly services: readonly string[];
    /** The network Prometheus reaches its tasks on (its name; Prometheus joins it). */
    readonly networkName: string;
    readonly port: number;
    /** @default - /metrics */
    readonly path?: string;
    /** Keep the labels the target's metrics carry (the pushgateway's job and instance). @default - false */
    readonly honorLabels?: boolean;
    /** Target labels (node, service, task) that do not describe these metrics: cleared on the matching metric names. */
    readonly notAbout?: readonly { readonly metrics: string; readonly labels: readonly ("node" | "service" | "task")[] }[];
    /** Target labels (service, task) that the matching metrics carry under other names: taken from those (empty when absent), which are then dropped. */
    readonly labelsFrom?: readonly { readonly metrics: string; readonly labels: Readonly<Partial<Record<"service" | "task", string>>> }[];
}

/**
 * A TLS endpoint whose certificate is watched: the blackbox exporter connects to `target`
 * (host:port inside the swarm, on `networkName`), shows `serverName` (SNI), and reports the
 * certificate's expiry (probe_ssl_earliest_cert_expiry) under job `job`.
 */
export interface TlsProbe {
    readonly job: string;
    readonly target: string;
    readonly serverName: string;
    readonly networkName: string;
}

/** A target as a component offers it: with the network's ID, which Prometheus joins. */
export interface MetricsTarget extends ScrapeTarget {
    readonly networkId: Input<string>;
}

export interface PrometheusRender {
    /** The Alertmanager's address (service:port). */
    readonly alertmanager: string;
    readonly targets: readonly ScrapeTarget[];
    /** @default - 15s */
    readonly scrapeInterval?: string;
    /** @default - the scrape interval */
    readonly evaluationInterval?: string;
    /** How long a scrape may take before its target counts as down. @default - 10s */
    readonly scrapeTimeout?: string;
    /** TLS endpoints probed through the blackbox exporter at `blackbox` (service:port). @default - none */
    readonly tlsProbes?: readonly TlsProbe[];
    readonly blackbox?: string;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A job over the tasks of its services, on one network: one target per running task, labelled node, service, task. */
function swarmJob(t: ScrapeTarget, refresh: string): Record<string, unknown> {
    return {
        job_name: t.job,
        metrics_path: t.path ?? "/metrics",
        ...(t.honorLabels ? { honor_labels: true } : {}),
        dockerswarm_sd_configs: [{ host: DOCKER_RO_SOCKET, role: "tasks", port: t.port, refresh_interval: refresh, filters: [{ name: "service", values: [...t.services] }] }],
        relabel_configs: [
            // Running tasks only, on the one network: not the service's old ones (its history), and
            // not one still pending (a member pinned to a node that is down gets a pending task whose
            // address answers nothing; its target would be a new series, not the member's).
            { source_labels: ["__meta_dockerswarm_task_desired_state"], regex: "running", action: "keep" },
            { source_labels: ["__meta_dockerswarm_task_state"], regex: "running", action: "keep" },
            { source_labels: ["__meta_dockerswarm_network_name"], regex: escapeRe(t.networkName), action: "keep" },
            // The API's service filter matches name prefixes too: keep exactly these.
            { source_labels: ["__meta_dockerswarm_service_name"], regex: t.services.map(escapeRe).join("|"), action: "keep" },
            { source_labels: ["__meta_dockerswarm_node_hostname"], target_label: "node" },
            { source_labels: ["__meta_dockerswarm_service_name"], target_label: "service" },
            { source_labels: ["__meta_dockerswarm_task_id"], target_label: "task" },
        ],
        ...(t.notAbout?.length || t.labelsFrom?.length
            ? {
                  metric_relabel_configs: [
                      ...(t.notAbout ?? []).flatMap((n) => n.labels.map((l) => ({ source_labels: ["__name__"], regex: n.metrics, target_label: l, replacement: "" }))),
                      ...(t.labelsFrom ?? []).flatMap((f) =>
                          Object.entries(f.labels).map(([l, from]) => ({ source_labels: ["__name__", from], regex: `(?:${f.metrics});(.*)`, target_label: l, replacement: "$1" })),
                      ),
                      ...((t.labelsFrom ?? []).length
                          ? [{ regex: [...new Set((t.labelsFrom ?? []).flatMap((f) => Object.values(f.labels)))].map(escapeRe).join("|"), action: "labeldrop" }]
                          : []),
                  ],
              }
            : {}),
    };
}

/** The blackbox exporter's module for a TLS probe. */
export const tlsModule = (p: Pick<TlsProbe, "job">) => `tls_${p.job.replace(/[^A-Za-z0-9_]/g, "_")}`;

/** A probe job: the blackbox exporter connects to the target with the probe's module. */
function probeJob(p: TlsProbe, blackbox: string): Record<string, unknown> {
    return {
        job_name: p.job,
        metrics_path: "/probe",
        params: { module: [tlsModule(p)] },
        static_configs: [{ targets: [p.target], labels: { server_name: p.serverName } }],
        relabel_configs: [
            { source_labels: ["__address__"], target_label: "__param_target" },
            { source_labels: ["__param_target"], target_label: "instance" },
            { target_label: "__address__", replacement: blackbox },
        ],
    };
}

/**
 * The blackbox exporter's blackbox.yml: one TCP+TLS module per probe, with its SNI. The chain is
 * not verified here (a generated certificate's CA is not in the exporter's store): the probe is for
 * its expiry; people's browsers verify it.
 */
export function renderBlackboxConfig(probes: readonly TlsProbe[]): string {
    return stringify({
        modules: Object.fromEntries(probes.map((p) => [tlsModule(p), { prober: "tcp", timeout: "5s", tcp: { tls: true, tls_config: { server_name: p.serverName, insecure_skip_verify: true } } }])),
    });
}

/** prometheus.yml. */
export function renderPrometheusConfig(r: PrometheusRender): string {
    const interval = r.scrapeInterval ?? "15s";
    const probes = r.tlsProbes ?? [];
    if (probes.length && !r.blackbox) throw new Error("TLS probes need the blackbox exporter's address (blackbox)");
    const jobs = new Set<string>();
    for (const t of [...r.targets, ...probes]) {
        if (jobs.has(t.job)) throw new Error(`scrape job ${t.job} is declared twice; each target needs its own job name`);
        jobs.add(t.job);
    }
    return stringify({
        global: { scrape_interval: interval, scrape_timeout: r.scrapeTimeout ?? "10s", evaluation_interval: r.evaluationInterval ?? interval },
        alerting: { alertmanagers: [{ static_configs: [{ targets: [r.alertmanager] }] }] },
        rule_files: [`${RULES_DIR}/*.yml`],
        scrape_configs: [{ job_name: "prometheus", static_configs: [{ targets: [`localhost:${PORTS.prometheus}`] }] }, ...r.targets.map((t) => swarmJob(t, interval)), ...probes.map((p) => probeJob(p, r.blackbox!))],
    });
}

/** Mail through an SMTP relay; its password read from a file (a Swarm secret). */
export interface EmailReceiver {
    readonly to: string;
    readonly from: string;
    /** host:port of the relay. */
    readonly smarthost: string;
    readonly username?: string;
    readonly passwordFile?: string;
    /** STARTTLS required. @default - true */
    readonly requireTls?: boolean;
}

/** A chat's incoming webhook in Slack's format (Slack, Mattermost, Rocket.Chat); its URL, which holds its token, read from a file (a Swarm secret). */
export interface ChatReceiver {
    readonly urlFile: string;
    readonly channel?: string;
}

/**
 * A receiver of alerts: a webhook (the lab's receiver, an incident tool), mail, a chat, any of them
 * together, or none (shown in Alertmanager only).
 */
export interface Receiver {
    readonly name: string;
    readonly webhook?: { readonly url: string };
    readonly email?: EmailReceiver;
    readonly chat?: ChatReceiver;
}

export interface AlertmanagerRender {
    readonly receivers: readonly Receiver[];
    /** The receiver of what no route matches. */
    readonly defaultReceiver: string;
    /** Routes in order: the first whose matchers (Alertmanager's `label=value`, `label=~regex`…) all match. */
    readonly routes?: readonly { readonly matchers: readonly string[]; readonly receiver: string }[];
    /** @default - 10s */
    readonly groupWait?: string;
    /** @default - 4h */
    readonly repeatInterval?: string;
}

/** alertmanager.yml. */
export function renderAlertmanagerConfig(r: AlertmanagerRender): string {
    return stringify({
        route: {
            receiver: r.defaultReceiver,
            group_by: ["alertname", "service", "node"],
            group_wait: r.groupWait ?? "10s",
            group_interval: "1m",
            repeat_interval: r.repeatInterval ?? "4h",
            ...(r.routes?.length ? { routes: r.routes.map((x) => ({ matchers: [...x.matchers], receiver: x.receiver })) } : {}),
        },
        receivers: r.receivers.map((x) => ({
            name: x.name,
            ...(x.webhook ? { webhook_configs: [{ url: x.webhook.url, send_resolved: true }] } : {}),
            ...(x.email
                ? {
                      email_configs: [
                          {
                              to: x.email.to,
                              from: x.email.from,
                              smarthost: x.email.smarthost,
                              ...(x.email.username ? { auth_username: x.email.username } : {}),
                              ...(x.email.passwordFile ? { auth_password_file: x.email.passwordFile } : {}),
                              require_tls: x.email.requireTls ?? true,
                              send_resolved: true,
                          },
                      ],
                  }
                : {}),
            ...(x.chat ? { slack_configs: [{ api_url_file: x.chat.urlFile, ...(x.chat.channel ? { channel: x.chat.channel } : {}), send_resolved: true }] } : {}),
        })),
    });
}
