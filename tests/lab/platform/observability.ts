// The observability checks against the platform the suite deployed (tests/lab/platform.test.ts):
// Prometheus finds every part through Swarm's discovery and each target is up, the rules are
// loaded, the swarm exporter sees the lab as it is, and a silence survives Alertmanager's restart.
import { until } from "../nodeShell";
import { MEMBERS, OBS, OBS_NODE, sh, SPARK_WORKERS } from "./suite";

const container = (service: string) => `$(docker ps -q -f label=com.docker.swarm.service.name=${service} | head -n1)`;
/** GET on a service's HTTP API from inside its own container (curl is in the images). */
async function api<T>(service: string, port: number, path: string): Promise<T> {
    return JSON.parse(await sh(`docker exec ${container(service)} curl -fsS 'http://127.0.0.1:${port}${path}'`, OBS_NODE)) as T;
}
const prom = <T>(path: string) => api<{ status: string; data: T }>(`${OBS}-prometheus`, 9090, path).then((r) => r.data);

interface Target { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }

/** Targets each job should have on the lab: one per task of its services. */
const EXPECTED: Record<string, number> = {
    prometheus: 1,
    node: 5,
    swarm: 1,
    alertmanager: 1,
    patroni: MEMBERS.length,
    etcd: 3,
    "spark-master": 1,
    "spark-worker": SPARK_WORKERS.length,
    etl: 1,
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
            expect(groups.map((g) => g.name).sort()).toEqual(["edge", "etl", "identity", "nodes", "postgres", "swarm", "swarm-etl-thresholds", "targets"]);
            const alerts = groups.flatMap((g) => g.rules.filter((r) => r.type === "alerting"));
            expect(alerts.length).toBeGreaterThanOrEqual(20);
            expect(alerts.filter((r) => r.health === "err")).toEqual([]);
        });

        test("the swarm exporter sees the lab: 5 nodes ready, 3 managers reachable, every service of the suite at its desired tasks", async () => {
            const q = async (expr: string) => (await prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
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

        test("the Docker API through the socket proxy is read only: the swarm's objects, nothing else", async () => {
            const code = async (method: string, path: string) =>
                sh(`docker exec ${container(`${OBS}-swarm-exporter`)} curl -s -o /dev/null -w '%{http_code}' -X ${method} --unix-socket /run/docker-ro/docker.sock 'http://docker${path}'`, OBS_NODE);
            const seen: Record<string, string> = {};
            for (const [m, p] of [["GET", "/_ping"], ["GET", "/v1.41/nodes"], ["GET", "/v1.41/services"], ["GET", "/v1.41/tasks"], ["GET", "/v1.41/containers/json"], ["GET", "/v1.41/secrets"], ["GET", "/v1.41/configs"], ["POST", "/v1.41/services/create"], ["DELETE", "/v1.41/nodes/x"], ["POST", "/v1.41/containers/x/exec"], ["GET", "/v1.41/services/x/logs"]])
                seen[`${m} ${p}`] = await code(m, p);
            expect(seen).toEqual({
                "GET /_ping": "200", "GET /v1.41/nodes": "200", "GET /v1.41/services": "200", "GET /v1.41/tasks": "200",
                "GET /v1.41/containers/json": "403", "GET /v1.41/secrets": "403", "GET /v1.41/configs": "403", "POST /v1.41/services/create": "403",
                "DELETE /v1.41/nodes/x": "403", "POST /v1.41/containers/x/exec": "403", "GET /v1.41/services/x/logs": "403",
            });
        });

        test("a silence survives Alertmanager's restart and its crash (its volume, written every minute)", async () => {
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
            // A crash (SIGKILL) more than a maintenance interval after the silence was made.
            const killed = await silence("LabSilenceKill");
            await new Promise((r) => setTimeout(r, 65_000));
            await replaced("kill");
            expect(await active()).toEqual(expect.arrayContaining([stopped, killed]));
        });
    });
}
