// The logs checks against the platform the suite deployed (tests/lab/platform.test.ts): every
// node's containers are in the store under their services; a line a service writes is found by
// its service name within 30 s, with its task and node; and, in the drills, the lines a node wrote
// while the store was away arrive after the node itself went down and came back.
import { labShell } from "../labShell";
import { REPO } from "../labConfig";
import { b64, until } from "../nodeShell";
import { keycloakReady } from "./edge";
import { query } from "./observability";
import { cfg, container, figures, healthy, imageNamed, LOGS, LOGS_NODE, NAME, OBS, sh, TRACES } from "./suite";
import { LOGS_IMAGES } from "../../../components/stacks/logs/logs";

const STORE = `${LOGS}-store`;
const NODES = [...cfg.managers, ...cfg.workers].map((h) => h.name);
/** Where the checks run docker's service commands: a manager the drill leaves up. */
const CONTROL = "mgr2";

type Record_ = Record<string, string>;
/** A LogsQL query against the store (VictoriaLogs' /select/logsql/query), from inside its container. */
export async function logsql(query: string, limit = 10_000): Promise<Record_[]> {
    const out = await sh(`docker exec ${container(STORE)} curl -fsS http://127.0.0.1:9428/select/logsql/query -d limit=${limit} --data-urlencode "query=$(echo ${b64(query)} | base64 -d)"`, LOGS_NODE, 60_000);
    return out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record_);
}

/** A one-off service on `node` that runs `script` once (no restart), named `${LOGS}-probe-<tag>`. */
async function probe(tag: string, node: string, script: string): Promise<string> {
    const name = `${LOGS}-probe-${tag}`;
    await sh(`docker service rm ${name} >/dev/null 2>&1; docker service create --detach --quiet --name ${name} --restart-condition none --constraint node.hostname==${node} --label swarm-etl.stack=${LOGS} --entrypoint sh ${imageNamed(LOGS_IMAGES.collector)} -c "$(echo ${b64(script)} | base64 -d)"`, CONTROL);
    return name;
}
const removeProbe = (name: string) => sh(`docker service rm ${name} >/dev/null 2>&1; true`, CONTROL).catch(() => undefined);

export function logsChecks(): void {
    describe("logs", () => {
        test("every node's containers are in the store, each under its Swarm service, with its node", async () => {
            // Services that write at start: Keycloak, the PostgreSQL members, etcd, Spark's master.
            const expected = [`${NAME}-keycloak`, `${NAME}-wkr1`, `${NAME}-wkr2`, `${NAME}-etcd-mgr1`, `${NAME}-spark-master`];
            let seen: Record_[] = [];
            await until(
                async () => {
                    seen = await logsql("_time:1h | stats by (service.name, host.name) count() lines");
                    const nodes = new Set(seen.map((r) => r["host.name"]));
                    const services = new Set(seen.map((r) => r["service.name"]));
                    return NODES.every((n) => nodes.has(n)) && expected.every((s) => services.has(s));
                },
                90_000,
                "a line from every node and from each of the services that write at start",
            ).catch((e) => {
                throw new Error(`${(e as Error).message}; the store has: ${seen.map((r) => `${r["service.name"]}@${r["host.name"]}=${r.lines}`).join(", ")}`);
            });
            const nodes = new Set(seen.map((r) => r["host.name"]));
            figures.logs.push(`in the store after the deploy: ${seen.reduce((a, r) => a + Number(r.lines), 0)} lines of ${new Set(seen.map((r) => r["service.name"])).size} services on ${nodes.size} nodes`);
        });

        test("a line a service writes is found by its service name within 30 s, with its task and node", async () => {
            const token = `probe-${Date.now().toString(36)}`;
            const node = "wkr2";
            const name = await probe("line", node, `echo "hello from the logs check ${token}"; sleep 300`);
            try {
                let hit: Record_ | undefined;
                await until(async () => !!(hit = (await logsql(`service.name:="${name}" "${token}"`))[0]), 120_000, `the probe's line (${token}) in the store`);
                const latency = (Date.now() - Date.parse(hit!._time)) / 1000;
                figures.logs.push(`a line found by its service name ${latency.toFixed(1)} s after it was written (bound 30 s)`);
                expect(latency).toBeLessThanOrEqual(30);
                expect(hit!._msg).toBe(`hello from the logs check ${token}`);
                expect(hit!["host.name"]).toBe(node);
                expect(hit!["swarm.task.name"]).toMatch(new RegExp(`^${name}\\.1\\.`));
                expect(hit!["swarm.node.id"]).toBe(await sh(`docker node inspect ${node} --format '{{.ID}}'`, CONTROL));
                expect(hit!["container.id"]).toMatch(/^[0-9a-f]{64}$/);
            } finally {
                await removeProbe(name);
            }
        });

        test("the budget: the observability stack's memory on the lab (metrics, logs, traces), Prometheus' ingest rate, the collector's cost per node", async () => {
            // Every container of the metrics, logs and traces services, on every node, as the kernel counts it (cgroup memory).
            const mib = (v: string) => Number.parseFloat(v) * ({ B: 1 / 1048576, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 }[v.replace(/^[\d.]+/, "")] ?? NaN);
            const rows = (await Promise.all(NODES.map((n) => sh(`docker stats --no-stream --format '{{.Name}} {{.MemUsage}}'`, n).then((o) => o.split("\n").filter(Boolean).map((l) => ({ node: n, name: l.split(" ")[0], mib: mib(l.split(" ")[1]) }))))))
                .flat()
                .filter((r) => r.name.startsWith(`${OBS}-`) || r.name.startsWith(`${LOGS}-`) || r.name.startsWith(`${TRACES}-`));
            const by = (prefix: string) => rows.filter((r) => r.name.startsWith(prefix)).reduce((a, r) => a + r.mib, 0);
            const total = rows.reduce((a, r) => a + r.mib, 0);
            expect(rows.every((r) => Number.isFinite(r.mib))).toBe(true);
            for (const svc of ["prometheus", "alertmanager", "node-exporter", "swarm-exporter", "socket-proxy", "cadvisor"]) expect(rows.some((r) => r.name.startsWith(`${OBS}-${svc}.`))).toBe(true);
            for (const svc of ["collector", "store"]) expect(rows.some((r) => r.name.startsWith(`${LOGS}-${svc}.`))).toBe(true);
            expect(rows.some((r) => r.name.startsWith(`${TRACES}-jaeger.`))).toBe(true);
            const ingest = await query("sum(rate(prometheus_tsdb_head_samples_appended_total[2m]))");
            const series = await query("prometheus_tsdb_head_series");
            const cpu = await query('rate(otelcol_process_cpu_seconds_total{job="log-collector"}[2m])');
            const rss = await query('otelcol_process_memory_rss_bytes{job="log-collector"}');
            const lines = await query('sum(rate(otelcol_receiver_accepted_log_records_total{job="log-collector"}[2m]))');
            expect([ingest, series, cpu, rss, lines].every((r) => r.length > 0)).toBe(true);
            const f = (n: number, d = 1) => n.toFixed(d);
            figures.observability.push(
                `memory of the metrics, logs and traces services on the lab (cgroup, ${rows.length} containers on ${new Set(rows.map((r) => r.node)).size} nodes): ${f(total)} MiB — ` +
                    ["prometheus", "alertmanager", "node-exporter", "swarm-exporter", "socket-proxy", "cadvisor"].map((s) => `${s} ${f(by(`${OBS}-${s}.`))}`).join(", ") +
                    `, log collectors ${f(by(`${LOGS}-collector.`))}, log store ${f(by(`${LOGS}-store.`))}, trace store ${f(by(`${TRACES}-jaeger.`))}`,
                `Prometheus ingests ${f(Number(ingest[0].value[1]), 0)} samples/s into ${series[0].value[1]} head series`,
                `the log collector per node: ${f(Math.max(...cpu.map((r) => Number(r.value[1]) * 100)), 2)} % of a core at most (mean ${f((cpu.reduce((a, r) => a + Number(r.value[1]), 0) / cpu.length) * 100, 2)} %), RSS ${f(Math.min(...rss.map((r) => Number(r.value[1]) / 1048576)))}–${f(Math.max(...rss.map((r) => Number(r.value[1]) / 1048576)))} MiB, at ${f(Number(lines[0].value[1]), 1)} lines/s for the lab`,
            );
            // The limits the components set hold them (the kernel would have killed one above its limit).
            expect(total).toBeLessThan(2048);
        });
    });
}

/**
 * The node drill: with the store away, a service on mgr1 writes numbered lines; then mgr1 goes
 * down whole (its dockerd, the collector and the service killed) and comes back, and the store
 * comes back: every line the node wrote arrives (the collector's offsets and queue were on its
 * volume).
 */
export function logsDrills(): void {
    describe("logs drills", () => {
        test("lines a node wrote while the store was away arrive after the node went down and came back: none lost", async () => {
            const node = "mgr1";
            const token = `drill-${Date.now().toString(36)}`;
            const count = 200;
            await sh(`docker service scale --detach ${STORE}=0 >/dev/null`, CONTROL);
            let name = "";
            try {
                await until(async () => (await sh(`docker ps -q -f label=com.docker.swarm.service.name=${STORE}`, LOGS_NODE)) === "", 60_000, "the store stopped");
                name = await probe("drill", node, `i=1; while [ $i -le ${count} ]; do echo "${token} line $i"; i=$((i+1)); sleep 0.02; done; sleep 600`);
                let id = "";
                await until(async () => !!(id = await sh(`docker ps -q --no-trunc -f label=com.docker.swarm.service.name=${name}`, node)), 120_000, "the probe runs on mgr1");
                const file = `/var/lib/swarm-etl-lab/hosts/${node}/docker/containers/${id}/${id}-json.log`;
                await until(async () => Number(await labShell(`grep -c '${token} line' ${file} || true`)) === count, 60_000, `the probe wrote its ${count} lines`);
                // The collector reads them and queues them for the store, which is away.
                await new Promise((r) => setTimeout(r, 5000));
                await labShell(`bash ${REPO}/lab/lab.sh dockerd ${node} crash`);
                const down = Date.now();
                await new Promise((r) => setTimeout(r, 10_000));
                await labShell(`bash ${REPO}/lab/lab.sh dockerd ${node} start`);
                await sh(`docker service scale --detach ${STORE}=1 >/dev/null`, CONTROL);
                let got: Record_[] = [];
                await until(async () => (got = await logsql(`"${token} line"`)).length >= count, 240_000, `all ${count} lines of the probe in the store`).catch((e) => {
                    throw new Error(`${(e as Error).message}: ${got.length} arrived`);
                });
                const seqs = got.map((r) => Number(/line (\d+)$/.exec(r._msg)?.[1]));
                const distinct = new Set(seqs);
                const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !distinct.has(i));
                figures.logs.push(`node down with the store away: all ${distinct.size} of ${count} lines arrived ${((Date.now() - down) / 1000).toFixed(1)} s after the node went down (${got.length - distinct.size} twice)`);
                expect(missing).toEqual([]);
                expect(got.every((r) => r["host.name"] === node && r["service.name"] === name)).toBe(true);
            } finally {
                await labShell(`bash ${REPO}/lab/lab.sh dockerd ${node} start`).catch(() => undefined);
                await sh(`docker service scale --detach ${STORE}=1 >/dev/null`, CONTROL).catch(() => undefined);
                if (name) await removeProbe(name);
            }
            // The node took a PostgreSQL router's task with it (Keycloak's connections through it hang
            // until they time out): Keycloak is ready again before the teardown.
            await healthy(180_000);
            const seconds = await keycloakReady(600_000);
            figures.logs.push(`  Keycloak ready again (its database reached) ${seconds.toFixed(1)} s after PostgreSQL was healthy`);
        }, 900_000);
    });
}
