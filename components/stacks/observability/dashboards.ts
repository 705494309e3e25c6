// The platform's Grafana dashboards as code (pure), built with Grafana's own SDK
// (@grafana/grafana-foundation-sdk): cluster and nodes, services and tasks, PostgreSQL HA,
// identity and the edge, Spark and the ETL runs, and the delivery pipeline. Every panel reads the Prometheus data source the
// dashboards are provisioned with (a `datasource` variable). Real clusters provision them into
// Grafana; the lab (where Grafana cannot run) runs every panel's query against its real
// Prometheus and requires data for each (tests/lab/platform/dashboards.ts).
import * as common from "@grafana/grafana-foundation-sdk/common";
import { DashboardBuilder, DatasourceVariableBuilder, RowBuilder, type Dashboard, type DataSourceRef, type Panel, type RowPanel } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

/** The data source every panel reads: the dashboards' `datasource` variable (Prometheus). */
const DS: DataSourceRef = { type: "prometheus", uid: "${datasource}" };
/** The name of the Prometheus data source Grafana is provisioned with. */
export const PROMETHEUS_DATASOURCE = "Prometheus";

interface Query {
    readonly expr: string;
    /** The series' name in the legend. */
    readonly legend?: string;
}
interface PanelSpec {
    readonly title: string;
    readonly description: string;
    readonly kind: "stat" | "timeseries";
    readonly queries: readonly Query[];
    readonly unit?: string;
    /** Grid width (of 24). @default - 12 (timeseries) or 6 (stat) */
    readonly width?: number;
}
interface DashboardSpec {
    readonly uid: string;
    readonly title: string;
    readonly description: string;
    readonly rows: readonly { readonly title: string; readonly panels: readonly PanelSpec[] }[];
}

const stat = (title: string, description: string, queries: Query[], unit?: string, width?: number): PanelSpec => ({ title, description, kind: "stat", queries, unit, width });
const series = (title: string, description: string, queries: Query[], unit?: string, width?: number): PanelSpec => ({ title, description, kind: "timeseries", queries, unit, width });

/** The file systems node-exporter reports that hold data (as the disk alert reads them). */
const DISKS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"';

export const DASHBOARDS: readonly DashboardSpec[] = [
    {
        uid: "swarm-etl-cluster",
        title: "swarm-etl / Cluster and nodes",
        description: "The swarm's nodes as its managers see them, and each node's CPU, memory, disk and load (node-exporter).",
        rows: [
            {
                title: "The swarm",
                panels: [
                    stat("Nodes ready", "Nodes the managers list as ready.", [{ expr: "sum(swarm_node_ready)" }]),
                    stat("Managers reachable", "Managers in the Raft quorum that answer.", [{ expr: "sum(swarm_node_manager_reachable)" }]),
                    stat("Nodes not ready", "Nodes the managers list but not as ready (down, or their daemon stopped).", [{ expr: "count(swarm_node_ready == 0) or vector(0)" }]),
                    stat("Targets down", "Prometheus' targets that did not answer their last scrape.", [{ expr: "count(up == 0) or vector(0)" }]),
                ],
            },
            {
                title: "Nodes",
                panels: [
                    series("CPU busy", "Share of each node's CPU time not idle.", [{ expr: '1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))', legend: "{{node}}" }], "percentunit"),
                    series("Memory available", "MemAvailable ÷ MemTotal, by node.", [{ expr: "min by (node) (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)", legend: "{{node}}" }], "percentunit"),
                    series("Disk free", "The fullest data file system's free share, by node.", [{ expr: `min by (node) (node_filesystem_avail_bytes{${DISKS}} / node_filesystem_size_bytes{${DISKS}})`, legend: "{{node}}" }], "percentunit"),
                    series("Load (1 min)", "The kernel's 1-minute load average, by node.", [{ expr: "max by (node) (node_load1)", legend: "{{node}}" }], "short"),
                ],
            },
        ],
    },
    {
        uid: "swarm-etl-services",
        title: "swarm-etl / Services and tasks",
        description: "Every Swarm service's running tasks against its desired count, failed tasks, the scrape targets of each job, and the containers' CPU, memory and network (cAdvisor).",
        rows: [
            {
                title: "Services",
                panels: [
                    stat("Services short of tasks", "Services running fewer tasks than desired.", [{ expr: "count(swarm_service_tasks_running < swarm_service_tasks_desired) or vector(0)" }]),
                    stat("Tasks running", "Running tasks of every service.", [{ expr: "sum(swarm_service_tasks_running)" }]),
                    series("Running ÷ desired tasks", "By service: 1 when every desired task runs.", [{ expr: "sum by (service) (swarm_service_tasks_running) / (sum by (service) (swarm_service_tasks_desired) > 0)", legend: "{{service}}" }], "percentunit", 24),
                    series("Failed tasks (1 h)", "Tasks that failed or were rejected in the last hour, by service: a restart loop shows here.", [{ expr: "sum by (service) (increase(swarm_service_task_failures_total[1h]))", legend: "{{service}}" }], "short"),
                    series("Targets up, by job", "Scrape targets that answered, by Prometheus job.", [{ expr: "sum by (job) (up)", legend: "{{job}}" }], "short"),
                ],
            },
            {
                title: "Containers (cAdvisor)",
                panels: [
                    series("CPU by service", "Cores each service's containers use, on all nodes (cAdvisor, from the nodes' cgroups).", [{ expr: 'sum by (service) (rate(container_cpu_usage_seconds_total{job="container", service!=""}[$__rate_interval]))', legend: "{{service}}" }], "short"),
                    series("Memory by service", "Working set of each service's containers (what the kernel would not reclaim), on all nodes.", [{ expr: 'sum by (service) (container_memory_working_set_bytes{job="container", service!=""})', legend: "{{service}}" }], "bytes"),
                    series("Network received by node", "Bytes per second the containers on each node received.", [{ expr: 'sum by (node) (rate(container_network_receive_bytes_total{job="container", service!=""}[$__rate_interval]))', legend: "{{node}}" }], "Bps"),
                ],
            },
        ],
    },
    {
        uid: "swarm-etl-postgres",
        title: "swarm-etl / PostgreSQL HA",
        description: "The warehouse's Patroni cluster: who is primary, replication lag, the DCS (etcd) and the backups (pgBackRest).",
        rows: [
            {
                title: "Members",
                panels: [
                    stat("Primaries", "Members that are primary: exactly 1 per cluster.", [{ expr: "sum by (service) (patroni_primary)", legend: "{{service}}" }]),
                    stat("Members running", "Members whose PostgreSQL runs.", [{ expr: "sum(patroni_postgres_running)" }]),
                    stat("etcd has a leader", "Members of the DCS that see a leader.", [{ expr: "sum(etcd_server_has_leader)" }]),
                    stat("Timeline", "The cluster's timeline: it grows with each failover.", [{ expr: "max(patroni_postgres_timeline)" }]),
                    series("Replication lag", "WAL the primary wrote that each replica has not replayed yet.", [{ expr: "max by (scope) (patroni_xlog_location) - on (scope) group_right () (patroni_xlog_replayed_location and on (service) patroni_replica == 1)", legend: "{{service}}" }], "bytes"),
                    series("WAL written", "Bytes of WAL per second on the primary.", [{ expr: "rate(patroni_xlog_location[$__rate_interval]) and on (service) patroni_primary == 1", legend: "{{service}}" }], "Bps"),
                ],
            },
            {
                title: "Backups",
                panels: [
                    series("Age of the newest backup", "Since the newest backup of each type completed, by stanza.", [{ expr: "time() - pgbackrest_backup_last_completed_timestamp_seconds", legend: "{{stanza}} {{type}}" }], "s", 24),
                ],
            },
        ],
    },
    {
        uid: "swarm-etl-identity",
        title: "swarm-etl / Identity and the edge",
        description: "Keycloak's logins and lockouts by realm, its requests by status and its JVM; the edge's session checks (oauth2-proxy).",
        rows: [
            {
                title: "Keycloak",
                panels: [
                    series("Logins by outcome", "Login events per minute, by realm and error (empty: success).", [{ expr: 'sum by (realm, error) (rate(keycloak_user_events_total{event="login"}[$__rate_interval])) * 60', legend: "{{realm}} {{error}}" }], "short"),
                    series("Lockouts", "Users locked out after failed logins (brute-force protection), in the last hour.", [{ expr: 'sum by (realm) (increase(keycloak_user_events_total{event="user_disabled_by_temporary_lockout"}[1h]))', legend: "{{realm}}" }], "short"),
                    series("Heap used", "Each replica's JVM heap.", [{ expr: 'sum by (node) (jvm_memory_used_bytes{job="keycloak", area="heap"})', legend: "{{node}}" }], "bytes"),
                ],
            },
            {
                title: "Requests",
                panels: [
                    series("Keycloak requests by status", "Requests to Keycloak per second by status (its health checks and metrics left out): logins, tokens, the console.", [{ expr: 'sum by (status) (rate(http_server_requests_seconds_count{job="keycloak", uri!~"/metrics|/health.*"}[$__rate_interval]))', legend: "{{status}}" }], "reqps"),
                    // oauth2-proxy 7.15 counts no auth_request sub-request by status (its request
                    // counter stays empty behind nginx's auth_request): what it reports is in flight.
                    series("Edge: session checks in flight", "Requests the edge is asking oauth2-proxy about right now, by replica.", [{ expr: "sum by (node) (oauth2_proxy_requests_in_flight)", legend: "{{node}}" }], "short"),
                ],
            },
        ],
    },
    {
        uid: "swarm-etl-etl",
        title: "swarm-etl / Spark and the ETL runs",
        description: "The Spark cluster (workers, cores) and each ETL run: outcome, duration by stage, rows, data-quality checks.",
        rows: [
            {
                title: "Spark",
                panels: [
                    stat("Workers alive", "Workers registered with the master.", [{ expr: "max(metrics_master_aliveWorkers_Value)" }]),
                    stat("Cores free", "Cores no executor holds, on every worker.", [{ expr: "sum(metrics_worker_coresFree_Value)" }]),
                    stat("Applications running", "Applications the master runs now.", [{ expr: "max(metrics_master_apps_Value)" }]),
                    stat("Waiting applications", "Applications waiting for cores.", [{ expr: "max(metrics_master_waitingApps_Value)" }]),
                ],
            },
            {
                title: "ETL runs",
                panels: [
                    stat("Last run's outcome", "1 for the outcome of the last run (succeeded, dq_failed, error).", [{ expr: "max by (outcome) (swarm_etl_run_outcome) == 1", legend: "{{outcome}}" }]),
                    stat("Since the last success", "Time since a run last loaded the warehouse.", [{ expr: "time() - max(swarm_etl_last_success_timestamp_seconds)" }], "s"),
                    stat("Failed data-quality checks", "Checks the last run failed.", [{ expr: "max(swarm_etl_dq_checks_failed)" }]),
                    stat("Load rate", "Rows per second the last run loaded into the warehouse.", [{ expr: "max(swarm_etl_load_rows_per_second)" }], "short"),
                    series("Duration by stage", "The last run's stages (extract, transform, load…).", [{ expr: "max by (stage) (swarm_etl_stage_duration_seconds)", legend: "{{stage}}" }], "s"),
                    series("Rows loaded", "Rows the last run wrote, by table.", [{ expr: 'max by (table) (swarm_etl_rows{stage="load"})', legend: "{{table}}" }], "short"),
                ],
            },
        ],
    },
    {
        uid: "swarm-etl-delivery",
        title: "swarm-etl / Delivery pipeline",
        description:
            "What the workflows did to each stack: previews of pull requests, ups on main, the morning drift check (.github/scripts/delivery-metrics.sh writes them on a manager, node-exporter's textfile collector publishes them). A stack's series may come from more than one node: each query takes the max.",
        rows: [
            {
                title: "Each stack",
                panels: [
                    stat("Since the last successful up", "Time since `pulumi up` last succeeded on the stack.", [{ expr: 'time() - max by (stack) (swarm_etl_delivery_last_success_timestamp_seconds{kind="up"})', legend: "{{stack}}" }], "s"),
                    stat("Drift", "1 when the last drift check found the cluster different from the code on main.", [{ expr: '1 - max by (stack) (swarm_etl_delivery_last_ok{kind="drift"})', legend: "{{stack}}" }]),
                    stat("Last step failed", "1 for a step whose last run failed (a preview, an up) or found drift.", [{ expr: "1 - max by (stack, kind) (swarm_etl_delivery_last_ok)", legend: "{{stack}} {{kind}}" }], undefined, 12),
                    series("Runs by result", "Runs of each step in the last day, by result.", [{ expr: "max by (stack, kind, result) (increase(swarm_etl_delivery_runs_total[1d]))", legend: "{{stack}} {{kind}} {{result}}" }], "short"),
                    series("Changes of the last preview and up", "Resources the step's last run would change (a preview) or changed (an up), by operation.", [{ expr: "max by (stack, kind, op) (swarm_etl_delivery_changes)", legend: "{{stack}} {{kind}} {{op}}" }], "short"),
                ],
            },
        ],
    },
];

/** A grid position on Grafana's 24 columns: left to right, a new line when the next does not fit. */
type GridPos = { x: number; y: number; w: number; h: number };
class Grid {
    private x = 0;
    private y = 0;
    private lineHeight = 0;
    /** The next place for a panel `w` wide and `h` high. */
    place(w: number, h: number): GridPos {
        if (this.x + w > 24) this.newLine();
        const pos = { x: this.x, y: this.y, w, h };
        this.x += w;
        this.lineHeight = Math.max(this.lineHeight, h);
        return pos;
    }
    /** A row's header: a line of its own, one unit high. */
    row(): GridPos {
        this.newLine();
        const pos = { x: 0, y: this.y, w: 24, h: 1 };
        this.y += 1;
        return pos;
    }
    private newLine(): void {
        this.y += this.lineHeight;
        this.x = 0;
        this.lineHeight = 0;
    }
}

function panel(p: PanelSpec, grid: Grid) {
    const targets = p.queries.map((q, i) =>
        new DataqueryBuilder()
            .expr(q.expr)
            .legendFormat(q.legend ?? "__auto")
            .refId(String.fromCharCode(65 + i))
            .datasource(DS),
    );
    if (p.kind === "stat") {
        const b = new StatBuilder().title(p.title).description(p.description).datasource(DS).gridPos(grid.place(p.width ?? 6, 4)).targets(targets);
        b.reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"])).graphMode(common.BigValueGraphMode.None);
        return p.unit ? b.unit(p.unit) : b;
    }
    const b = new TimeseriesBuilder().title(p.title).description(p.description).datasource(DS).gridPos(grid.place(p.width ?? 12, 8)).targets(targets);
    return p.unit ? b.unit(p.unit) : b;
}

/** One dashboard's JSON, as Grafana's provisioning reads it. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
    const b = new DashboardBuilder(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(["swarm-etl"])
        .editable()
        .time({ from: "now-6h", to: "now" })
        .refresh("1m")
        .timezone("browser")
        .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus").current({ text: PROMETHEUS_DATASOURCE, value: PROMETHEUS_DATASOURCE }));
    const grid = new Grid();
    for (const row of spec.rows) {
        b.withRow(new RowBuilder(row.title).gridPos(grid.row()));
        for (const p of row.panels) b.withPanel(panel(p, grid));
    }
    return b.build();
}

/** Every dashboard of the platform, by uid. */
export function platformDashboards(): Record<string, Dashboard> {
    return Object.fromEntries(DASHBOARDS.map((d) => [d.uid, buildDashboard(d)]));
}

/** Every query of a dashboard, with its panel's title (what the lab runs against Prometheus). */
export function dashboardQueries(d: Dashboard): { panel: string; expr: string }[] {
    const panels = (d.panels ?? []).filter((p): p is Panel => (p as RowPanel).type !== "row");
    return panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? "", expr: String((t as { expr?: string }).expr ?? "") })));
}
