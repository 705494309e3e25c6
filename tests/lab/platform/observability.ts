// The observability checks against the platform the suite deployed (tests/lab/platform.test.ts):
// Prometheus finds every part through Swarm's discovery and each target is up, the rules are
// loaded, the swarm exporter sees the lab as it is, the edge's certificate is watched, and a silence
// survives Alertmanager's restart.
import { X509Certificate } from "crypto";
import { log } from "../harness";
import { DOMAIN as EDGE_DOMAIN } from "../identity/stack";
import { until } from "../nodeShell";
import { ALERT_SINK, CHAT_TOKEN, container, figures, KC_NODES, MEMBERS, NAME, OBS, OBS_NODE, platform, psql, repoExec, sh, SPARK_WORKERS, stack, STAR_CHECKSUM } from "./suite";

/** GET on a service's HTTP API from inside its own container (curl is in the images). */
async function api<T>(service: string, port: number, path: string): Promise<T> {
    return JSON.parse(await sh(`docker exec ${container(service)} curl -fsS 'http://127.0.0.1:${port}${path}'`, OBS_NODE)) as T;
}
export const prom = <T>(path: string) => api<{ status: string; data: T }>(`${OBS}-prometheus`, 9090, path).then((r) => r.data);
export const query = async (expr: string) => (await prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;

/** The lab's scrape interval (suite.ts leaves Prometheus' default): an alert must reach the receiver within its `for` plus two of these. */
const SCRAPE_SECONDS = 15;

interface SinkAlert { status: "firing" | "resolved"; labels: Record<string, string>; startsAt: string; receivedAt: number }
/** Every notification the webhook's sink got, in order. */
async function sinkAlerts(): Promise<SinkAlert[]> {
    const out = await sh(`docker logs ${container(ALERT_SINK)} 2>&1`, OBS_NODE);
    return out.split("\n").filter((l) => l.startsWith("ALERT ")).map((l) => JSON.parse(l.slice(6)) as SinkAlert);
}

/**
 * Waits until `alertname` with `labels` reaches the receiver firing, sent after `onset` (the moment
 * the fault began, ms); requires it within its `for` plus two scrape intervals of the onset. Returns
 * when it arrived (ms) and records the figure.
 */
export async function alertArrives(alertname: string, labels: Record<string, string>, forSeconds: number, onset: number, what: string): Promise<number> {
    const bound = forSeconds + 2 * SCRAPE_SECONDS;
    const match = (a: SinkAlert) => a.status === "firing" && a.labels.alertname === alertname && a.receivedAt * 1000 >= onset && Object.entries(labels).every(([k, v]) => a.labels[k] === v);
    let seen: SinkAlert[] = [];
    // Waits past the bound, so a slow alert is measured and named rather than only missed.
    await until(async () => (seen = await sinkAlerts()).some(match), Math.max(onset + (bound + 60) * 1000 - Date.now(), 5000), `${alertname} at the receiver`).catch(() => {
        const since = seen.filter((a) => a.receivedAt * 1000 >= onset).map((a) => `${a.status} ${a.labels.alertname} ${JSON.stringify({ node: a.labels.node, service: a.labels.service })}`);
        throw new Error(`${alertname} ${JSON.stringify(labels)} did not reach the receiver within ${bound + 60} s of ${what}; it got since: ${since.join("; ") || "nothing"}`);
    });
    const at = seen.find(match)!.receivedAt * 1000;
    const seconds = (at - onset) / 1000;
    figures.alerts.push(`${alertname} ${JSON.stringify(labels)}: at the receiver ${seconds.toFixed(1)} s after ${what} (bound: for ${forSeconds} s + 2 scrapes = ${bound} s)`);
    expect(seconds).toBeLessThanOrEqual(bound);
    return at;
}

interface Target { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }

/** Targets each job should have on the lab: one per task of its services. */
const EXPECTED: Record<string, number> = {
    prometheus: 1,
    node: 5,
    container: 5,
    swarm: 1,
    alertmanager: 1,
    patroni: MEMBERS.length,
    etcd: 3,
    pgbackrest: 1,
    "spark-master": 1,
    "spark-worker": SPARK_WORKERS.length,
    etl: 1,
    keycloak: KC_NODES.length,
    "edge-auth": 1,
    "log-collector": 5,
    "log-store": 1,
    "trace-store": 1,
    "edge-tls": 1,
};

export function observabilityChecks(): void {
    describe("observability", () => {
        test("every part of the platform is found through Swarm's discovery and every target is up", async () => {
            let last: Target[] = [];
            const missing = () => {
                const byJob: Record<string, Target[]> = {};
                for (const t of last) (byJob[t.labels.job] ??= []).push(t);
                return Object.entries(EXPECTED).flatMap(([job, n]) => {
                    const ts = byJob[job] ?? [];
                    const down = ts.filter((t) => t.health !== "up").map((t) => `${job} ${t.labels.instance} on ${t.labels.node}: ${t.health} (${t.lastError || "not scraped yet"})`);
                    return [...(ts.length === n ? [] : [`${job}: ${ts.length} target(s), expected ${n}`]), ...down];
                });
            };
            try {
                await until(async () => {
                    last = (await prom<{ activeTargets: Target[] }>("/api/v1/targets?state=active")).activeTargets;
                    return missing().length === 0;
                }, 180_000, "every target up");
            } catch {
                throw new Error(`targets not up after 180 s:\n  ${missing().join("\n  ")}`);
            }
            // Each carries the Swarm node and service it runs on.
            const patroni = last.filter((t) => t.labels.job === "patroni").map((t) => [t.labels.node, t.labels.service]).sort();
            expect(patroni).toEqual(MEMBERS.map((m) => [m, `pgt-${m}`]));
            expect(new Set(last.filter((t) => t.labels.job === "node").map((t) => t.labels.node))).toEqual(new Set(["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"]));
        });

        test("the rules are loaded: every static alert and the thresholds group", async () => {
            const groups = (await prom<{ groups: { name: string; file: string; rules: { name: string; type: string; health: string }[] }[] }>("/api/v1/rules")).groups;
            expect(groups.map((g) => g.name).sort()).toEqual(["edge", "etl", "identity", "logs", "nodes", "postgres", "swarm", "swarm-etl-thresholds", "targets", "traces"]);
            const alerts = groups.flatMap((g) => g.rules.filter((r) => r.type === "alerting"));
            expect(alerts.length).toBeGreaterThanOrEqual(21);
            expect(alerts.filter((r) => r.health === "err")).toEqual([]);
        });

        test("the swarm exporter sees the lab: 5 nodes ready, 3 managers reachable, every service of the suite at its desired tasks", async () => {
            const q = query;
            await until(async () => (await q("swarm_node_ready == 1")).length === 5, 60_000, "5 nodes ready");
            expect((await q("swarm_node_manager_reachable == 1")).map((r) => r.metric.node).sort()).toEqual(["mgr1", "mgr2", "mgr3"]);
            let short: string[] = [];
            await until(async () => {
                short = (await q('swarm_service_tasks_desired{service=~"pgt-.*"} - swarm_service_tasks_running > 0')).map((r) => `${r.metric.service}: ${r.value[1]} short`);
                return short.length === 0;
            }, 120_000, "every service at its desired tasks").catch(() => {
                throw new Error(`services short of tasks: ${short.join(", ")}`);
            });
            expect((await q('swarm_service_tasks_desired{service="pgt-obs-node-exporter", mode="global"}'))[0].value[1]).toBe("5");
        });

        test("container metrics (cAdvisor on every node): each container's memory and CPU under its own Swarm service, task and node", async () => {
            const NODES = ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"];
            const GLOBAL = [`${OBS}-node-exporter`, `${OBS}-cadvisor`, `${OBS}-socket-proxy`, `${NAME}-logs-collector`];
            const seen = async () => {
                const rows = await query(`container_memory_working_set_bytes{job="container", service=~"${GLOBAL.join("|")}"}`);
                return NODES.flatMap((n) => GLOBAL.filter((g) => !rows.some((r) => r.metric.node === n && r.metric.service === g)).map((g) => `${g} on ${n}`));
            };
            let missing: string[] = [];
            await until(async () => (missing = await seen()).length === 0, 120_000, "every node's global services in cAdvisor's series").catch(() => {
                throw new Error(`no container series for: ${missing.join(", ")}`);
            });
            // A member's container: on its worker only, under the task running there now (its Swarm labels).
            for (const m of MEMBERS) {
                const task = await sh(`docker ps -f label=com.docker.swarm.service.name=${NAME}-${m} --format '{{.Label "com.docker.swarm.task.name"}}'`, m);
                let rows: Awaited<ReturnType<typeof query>> = [];
                await until(async () => (rows = await query(`container_memory_working_set_bytes{job="container", service="${NAME}-${m}"}`)).some((r) => r.metric.task === task), 60_000, `${NAME}-${m}'s task ${task}`);
                expect(rows.map((r) => r.metric.node)).toEqual(rows.map(() => m));
                expect(Number(rows.find((r) => r.metric.task === task)!.value[1])).toBeGreaterThan(16 * 1048576);
            }
            // No container is reported by two nodes' cAdvisors (the lab's nodes share one kernel's cgroups).
            expect(await query('count by (id) (container_memory_working_set_bytes{job="container", id!="/"}) > 1')).toEqual([]);
            // Its CPU counts up; the raw Swarm labels are replaced by service and task.
            let cpu: Awaited<ReturnType<typeof query>> = [];
            await until(async () => (cpu = await query(`rate(container_cpu_usage_seconds_total{job="container", service="${OBS}-prometheus"}[1m])`)).length > 0, 60_000, "a rate of Prometheus' container's CPU");
            expect(cpu.map((r) => r.metric.cpu)).toEqual(["total"]); // per-core series are left out
            expect(Number(cpu[0].value[1])).toBeGreaterThan(0);
            expect(Object.keys(cpu[0].metric).filter((k) => k.startsWith("container_label_com_docker_swarm_service") || k.startsWith("container_label_com_docker_swarm_task"))).toEqual([]);
            const series = await query('count(container_memory_working_set_bytes{job="container"})');
            // Its own cost: a rate needs two scrapes of each cAdvisor (one that waited for its node's
            // socket proxy and was started again by Swarm has fewer yet).
            let own: Awaited<ReturnType<typeof query>> = [];
            await until(async () => (own = await query('rate(process_cpu_seconds_total{job="container"}[2m])')).length === NODES.length, 120_000, "a CPU rate of every node's cAdvisor").catch(() => undefined);
            expect(own.map((r) => r.metric.node).sort()).toEqual(NODES);
            const rss = await query('process_resident_memory_bytes{job="container"}');
            figures.observability.push(
                `cAdvisor: ${series[0]?.value[1]} containers on 5 nodes; its own cost per node: ${(Math.max(...own.map((r) => Number(r.value[1]))) * 100).toFixed(2)} % of a core at most, ` +
                    `RSS ${(Math.max(...rss.map((r) => Number(r.value[1]))) / 1048576).toFixed(1)} MiB at most`,
            );
        });

        test("the edge's certificate as Prometheus sees it (the blackbox exporter, through nginx on its network): its expiry is the exported certificate's; no certificate alert fires", async () => {
            const certificate = String((await stack().outputs()).certificate?.value ?? "");
            expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
            const notAfter = Math.floor(new X509Certificate(certificate).validToDate.getTime() / 1000);
            const probe = await query('probe_ssl_earliest_cert_expiry{job="edge-tls"}');
            expect(probe.map((r) => [r.metric.server_name, Number(r.value[1])])).toEqual([[`auth.${EDGE_DOMAIN}`, notAfter]]);
            expect((await query('probe_success{job="edge-tls"}')).map((r) => r.value[1])).toEqual(["1"]);
            const firing = (await prom<{ alerts: { labels: Record<string, string>; state: string }[] }>("/api/v1/alerts")).alerts.filter((a) => a.labels.alertname.startsWith("Certificate"));
            expect(firing).toEqual([]);
            figures.observability.push(`the edge's certificate: Prometheus sees it expire ${new Date(notAfter * 1000).toISOString()}, in ${((notAfter - Date.now() / 1000) / 86400).toFixed(0)} days, as exported`);
        });

        test("the backups' exporter: each type's newest backup as pgbackrest info has it; no backup alert fires", async () => {
            const info = JSON.parse(await repoExec("pgbackrest --output=json --log-level-console=off info")) as { name: string; backup: { type: string; error?: boolean; timestamp: { stop: number } }[] }[];
            const newest: Record<string, number> = {};
            for (const b of info.find((x) => x.name === NAME)?.backup ?? []) if (!b.error) newest[b.type] = Math.max(newest[b.type] ?? 0, b.timestamp.stop);
            expect(Object.keys(newest)).toContain("full"); // the deploy's first full backup, and the one the backup check made
            let got: Record<string, number> = {};
            await until(async () => {
                got = Object.fromEntries((await query(`pgbackrest_backup_last_completed_timestamp_seconds{stanza="${NAME}"}`)).map((r) => [r.metric.type, Number(r.value[1])]));
                return Object.keys(got).length === Object.keys(newest).length && Object.entries(newest).every(([t, v]) => got[t] === v);
            }, 60_000, "Prometheus has the repository's newest backups").catch(() => undefined);
            expect(got).toEqual(newest);
            expect((await query(`pgbackrest_stanza_status{stanza="${NAME}"}`)).map((r) => [r.value[1], r.metric.message])).toEqual([["0", "ok"]]);
            const firing = (await prom<{ alerts: { labels: Record<string, string>; state: string }[] }>("/api/v1/alerts")).alerts.filter((a) => a.state === "firing" && a.labels.alertname.startsWith("PostgresBackup"));
            expect(firing).toEqual([]);
        });

        test("the Docker API through the socket proxy is read only: the swarm's objects and a container's inspect, nothing else", async () => {
            const code = async (method: string, path: string) =>
                sh(`docker exec ${container(`${OBS}-swarm-exporter`)} curl -s -o /dev/null -w '%{http_code}' -X ${method} --unix-socket /run/docker-ro/docker.sock 'http://docker${path}'`, OBS_NODE);
            const seen: Record<string, string> = {};
            // A container's inspect (cAdvisor reads its labels), by its full ID only.
            const id = await sh(`docker ps -q --no-trunc -f label=com.docker.swarm.service.name=${OBS}-prometheus`, OBS_NODE);
            for (const [m, p] of [["GET", "/_ping"], ["GET", "/v1.41/nodes"], ["GET", "/v1.41/services"], ["GET", "/v1.41/tasks"], ["GET", `/v1.41/containers/${id}/json`], ["GET", "/v1.41/containers/json"], ["GET", `/v1.41/containers/${id}/logs`], ["GET", `/v1.41/containers/${id}/archive?path=/etc`], ["GET", "/v1.41/secrets"], ["GET", "/v1.41/configs"], ["POST", "/v1.41/services/create"], ["DELETE", "/v1.41/nodes/x"], ["POST", `/v1.41/containers/${id}/exec`], ["GET", "/v1.41/services/x/logs"]])
                seen[`${m} ${p.replace(id, "<id>")}`] = await code(m, p);
            expect(seen).toEqual({
                "GET /_ping": "200", "GET /v1.41/nodes": "200", "GET /v1.41/services": "200", "GET /v1.41/tasks": "200", "GET /v1.41/containers/<id>/json": "200",
                "GET /v1.41/containers/json": "403", "GET /v1.41/containers/<id>/logs": "403", "GET /v1.41/containers/<id>/archive?path=/etc": "403", "GET /v1.41/secrets": "403", "GET /v1.41/configs": "403", "POST /v1.41/services/create": "403",
                "DELETE /v1.41/nodes/x": "403", "POST /v1.41/containers/<id>/exec": "403", "GET /v1.41/services/x/logs": "403",
            });
        });

        test("a silence survives Alertmanager's restart and its crash (its volume, written every snapshot interval)", async () => {
            const am = `${OBS}-alertmanager`;
            const silence = async (name: string) => {
                const now = Date.now();
                const body = JSON.stringify({ matchers: [{ name: "alertname", value: name, isRegex: false }], startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3600_000).toISOString(), createdBy: "lab", comment: "survives a restart" });
                return (JSON.parse(await sh(`docker exec ${container(am)} curl -fsS -X POST -H 'Content-Type: application/json' -d '${body}' http://127.0.0.1:9093/api/v2/silences`, OBS_NODE)) as { silenceID: string }).silenceID;
            };
            const replaced = async (how: string) => {
                const before = await sh(`docker ps -q -f label=com.docker.swarm.service.name=${am}`, OBS_NODE);
                await sh(`docker ${how} ${before}`, OBS_NODE);
                await until(async () => {
                    const now = await sh(`docker ps -q -f label=com.docker.swarm.service.name=${am} -f health=healthy`, OBS_NODE).catch(() => "");
                    return now !== "" && now !== before;
                }, 90_000, "a new Alertmanager task, healthy");
            };
            const active = async () => (await api<{ id: string; status: { state: string } }[]>(am, 9093, "/api/v2/silences")).filter((s) => s.status.state === "active").map((s) => s.id);
            // A restart (SIGTERM: Alertmanager writes its state as it stops).
            const stopped = await silence("LabSilenceStop");
            await replaced("stop");
            expect(await active()).toContain(stopped);
            // A crash (SIGKILL) more than a snapshot interval (15 s in the suite) after the silence was made.
            const killed = await silence("LabSilenceKill");
            await new Promise((r) => setTimeout(r, 20_000));
            await replaced("kill");
            expect(await active()).toEqual(expect.arrayContaining([stopped, killed]));
        });
    });
}

/** The alert drill that runs last (after the PostgreSQL drills, which fire NodeDown and PostgresDown): an ETL run failing a data-quality check. */
export function alertDrills(): void {
    describe("alerts fired for real", () => {
        test("an ETL run failing a data-quality check: the up fails naming it, the snapshot stays, the retry is not run again, EtlDataQualityFailed reaches the receiver", async () => {
            const before = await psql(STAR_CHECKSUM);
            // 15.6 % of the flights link to the unknown plane (etl/README.md): a 10 % threshold fails.
            platform.dq = { maxUnknownRate: 0.1 };
            platform.runId = "dq-drill";
            const t0 = Date.now();
            const err = await stack().up({ onOutput: log("pgt-dq-up") }).then(() => "the up succeeded", (e: Error) => e.message);
            figures.alerts.push(`the up with the failing run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            expect(err).toMatch(/service pgt-flights did not converge/);
            expect(err).toMatch(/unknown_rate:fact_flight\.\w+: rate 0\.1\d+, expected <= 0\.1; this retry of the same run .* is not run/);
            const [status, failed, finishedAt] = (await psql("SELECT status, array_to_string(failed_checks, ','), extract(epoch FROM finished_at) FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")).split("|");
            expect(status).toBe("dq_failed");
            expect(failed).toMatch(/^unknown_rate:fact_flight\.\w+$/);
            // One run recorded: the retry ended before it started another.
            expect(await psql("SELECT count(*) FROM flights.etl_run WHERE started_at > to_timestamp(" + t0 / 1000 + ")")).toBe("1");
            expect(await psql(STAR_CHECKSUM)).toBe(before);
            await alertArrives("EtlDataQualityFailed", {}, 0, Number(finishedAt) * 1000, "the run's end");
            // The same notification by mail and in the chat, through the URL Alertmanager read from its secret.
            const onset = Number(finishedAt);
            let lines: { kind: string; v: { subject?: string; titles?: string[]; path?: string; to?: string[]; receivedAt: number } }[] = [];
            const got = (kind: string) => lines.find((l) => l.kind === kind && l.v.receivedAt >= onset && (l.v.subject ?? l.v.titles?.join(" ") ?? "").includes("EtlDataQualityFailed"));
            await until(
                async () => {
                    const out = await sh(`docker logs ${container(ALERT_SINK)} 2>&1`, OBS_NODE);
                    lines = out.split("\n").filter((l) => /^(MAIL|CHAT) /.test(l)).map((l) => ({ kind: l.slice(0, 4), v: JSON.parse(l.slice(5)) }));
                    return !!got("MAIL") && !!got("CHAT");
                },
                120_000,
                "EtlDataQualityFailed by mail and in the chat",
            ).catch(() => undefined);
            expect({ mail: got("MAIL")?.v.to, chat: got("CHAT")?.v.path }).toEqual({ mail: ["ops@lab.swarm-etl.test"], chat: `/chat/${CHAT_TOKEN}` });
            figures.alerts.push(`EtlDataQualityFailed by mail ${(got("MAIL")!.v.receivedAt - onset).toFixed(1)} s and in the chat ${(got("CHAT")!.v.receivedAt - onset).toFixed(1)} s after the run's end`);
        });
    });
}
