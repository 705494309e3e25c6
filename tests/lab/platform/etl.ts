// The flights ETL's checks and drills, against the platform tests/lab/platform.test.ts deployed
// (tests/lab/platform/suite.ts), whose deploy ran the job once with a Spark worker killed in the
// middle. Then: the master restarted; a run started by the schedule (a cron in Europe/Berlin
// time), during which a second trigger is refused and the warehouse's primary is killed: that
// attempt fails and the job's retry loads the warehouse, into exactly the tables of the first run.
import { labStack, log } from "../harness";
import { until } from "../nodeShell";
import { ETL, figures, healthy, NAME, platform, psql, SCHEDULER, sh, SPARK, SPARK_MASTER_NODE, SPARK_WORKERS, sparkMaster, stack, STAR_CHECKSUM } from "./suite";

/** The worker container the deploy's killer stopped in the first run (platform.test.ts sets it). */
/** The worker the deploy's test killed, and whether the master listed it DEAD then (it forgets dead workers after a while). */
export const killedWorker = { container: "", seenDead: false };
let firstChecksums = "";

/** The ETL's checks and drills, in order (the drills are the schedule's run with a failover, and the refusals). */
export function etlChecks(): void {
    describe("the flights ETL on the lab's Spark cluster", () => {
        test("the deploy ran the job on the Spark cluster (not local), a worker killed in the middle: every check passed, its metrics and event log are kept", async () => {
            expect(killedWorker.container).toMatch(/^[0-9a-f]+$/);
            const run = (await psql("SELECT status || ' ' || spark_master || ' ' || coalesce(array_length(failed_checks, 1), 0) FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")).split(" ");
            expect(run).toEqual(["succeeded", `spark://${SPARK}-master:7077`, "0"]);
            expect(await psql("SELECT count(*) FILTER (WHERE NOT passed) || ' ' || (count(*) > 50) FROM flights.etl_dq_result WHERE run_id = (SELECT run_id FROM flights.etl_run ORDER BY started_at DESC LIMIT 1)")).toBe("0 true");
            expect(await psql("SELECT count(*) FROM flights.fact_flight")).toBe("336776");
            // The application ran on the cluster, and the lost worker is visible on the master.
            const m = await sparkMaster();
            expect(m.completedapps.some((a) => a.name === "swarm-etl-flights" && a.state === "FINISHED")).toBe(true);
            expect(killedWorker.seenDead).toBe(true);
            await until(async () => (await sparkMaster()).workers.filter((w) => w.state === "ALIVE").length === 2, 120_000, "both workers ALIVE again");
            // Its event log is kept: the history server lists the finished application.
            const history = `$(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-history | head -n1)`;
            const apps = async () => JSON.parse(await sh(`docker exec ${history} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:18080/api/v1/applications').read().decode())"`, SPARK_MASTER_NODE)) as { name: string; attempts: { completed: boolean }[] }[];
            await until(async () => (await apps()).some((a) => a.name === "swarm-etl-flights" && a.attempts.every((t) => t.completed)), 60_000, "the history server lists the finished run");
            // The run's metrics are on the gateway, for Prometheus.
            const gw = `$(docker ps -q -f label=com.docker.swarm.service.name=${ETL}-pushgateway | head -n1)`;
            const metrics = await sh(`docker exec ${gw} curl -fsS http://127.0.0.1:9091/metrics`, SPARK_MASTER_NODE);
            expect(metrics).toMatch(/^swarm_etl_run_outcome\{.*outcome="succeeded".*\} 1$/m);
            expect(metrics).toMatch(/^swarm_etl_rows\{.*stage="load".*table="fact_flight".*\} 336776$/m);
            firstChecksums = await psql(STAR_CHECKSUM);
            expect(firstChecksums.split(" ")).toHaveLength(7);
        });

        test("Spark's own metrics are served for Prometheus by the master and the workers", async () => {
            const c = `$(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-master | head -n1)`;
            const text = await sh(`docker exec ${c} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/metrics/master/prometheus').read().decode())"`, SPARK_MASTER_NODE);
            expect(text).toMatch(/^metrics_master_aliveWorkers_Value\{.*\} 2$/m);
            const w = `$(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-worker | head -n1)`;
            expect(await sh(`docker exec ${w} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8081/metrics/prometheus').read().decode())"`, SPARK_WORKERS[0])).toMatch(/^metrics_worker_coresFree_Value\{.*\} \d+$/m);
        });

        test("the metrics gateway killed: Swarm restarts it and it serves the last run's metrics again, from its file on the volume", async () => {
            const filter = `-f label=com.docker.swarm.service.name=${ETL}-pushgateway`;
            const read = async () => sh(`docker exec $(docker ps -q ${filter} | head -n1) curl -fsS http://127.0.0.1:9091/metrics`, SPARK_MASTER_NODE);
            const line = /^swarm_etl_rows\{.*stage="load".*table="fact_flight".*\} \d+$/m;
            const before = (await read()).match(line)?.[0];
            expect(before).toBeDefined();
            // The gateway writes its file every 30 s (--persistence.interval): wait until the run's push is older than that.
            const age = Number(await psql("SELECT extract(epoch FROM now() - max(finished_at)) FROM flights.etl_run"));
            if (age < 40) await new Promise((r) => setTimeout(r, (40 - age) * 1000));
            const old = await sh(`docker ps -q ${filter} | head -n1`, SPARK_MASTER_NODE);
            await sh(`docker kill ${old}`, SPARK_MASTER_NODE);
            await until(async () => {
                const now = await sh(`docker ps -q ${filter} -f health=healthy | head -n1`, SPARK_MASTER_NODE);
                return now !== "" && !old.startsWith(now);
            }, 120_000, "a new gateway container, healthy");
            expect((await read()).match(line)?.[0]).toBe(before);
        });

        test("the master restarted between runs; the schedule fires on the swarm, a second trigger is refused, a failover in the run is retried into identical tables", async () => {
            const workerTasks = await sh(`docker service ps -q --filter desired-state=running ${SPARK}-worker`);
            await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-master)`, SPARK_MASTER_NODE);
            const t0 = Date.now();
            await until(async () => {
                const m = await sparkMaster();
                return m.status === "ALIVE" && m.workers.filter((w) => w.state === "ALIVE").length === 2;
            }, 180_000, "the restarted master ALIVE with both workers");
            figures.etl.push(`master restart to ALIVE with its 2 workers: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            // Recovered, not re-registered: the workers' tasks are the same ones.
            expect(await sh(`docker service ps -q --filter desired-state=running ${SPARK}-worker`)).toBe(workerTasks);

            // A schedule that fires once, two minutes from now, in Berlin's time.
            const at = new Date(Date.now() + 120_000);
            const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "numeric", minute: "numeric", hourCycle: "h23" }).formatToParts(at).map((p) => [p.type, p.value]));
            platform.schedule = { cron: `${Number(parts.minute)} ${Number(parts.hour)} * * *`, timeZone: "Europe/Berlin" };
            const res = await stack().up({ onOutput: log("pgt-etl-up-schedule") });
            expect(res.summary.result).toBe("succeeded");
            expect(res.summary.resourceChanges?.create).toBe(1); // the template only: the job did not run again
            const template = `${ETL}-scheduled`;
            const runs = () => sh(`docker service ls -q --filter label=swarm-etl.run-of=${template}`);
            await until(async () => (await runs()) !== "", 240_000, "the scheduler started a run of the template");
            const firedAt = Date.now();
            expect(Math.abs(firedAt - at.getTime())).toBeLessThan(75_000);

            // While it runs: a second trigger is refused.
            const sched = `$(docker ps -q -f label=com.docker.swarm.service.name=${SCHEDULER} | head -n1)`;
            const schedNode = await sh(`docker service ps ${SCHEDULER} --filter desired-state=running --format '{{.Node}}'`);
            const refused = await sh(`docker exec ${sched} swarm-etl-scheduler run ${template} 2>&1; echo "exit $?"`, schedNode);
            expect(refused).toMatch(/refused: pgt-flights-scheduled-\S+ of pgt-flights-scheduled is still going/);
            expect(refused).toMatch(/exit 1$/);
            // ... and recorded in the scheduler's own log.
            expect(await sh(`docker service logs ${SCHEDULER} 2>&1`)).toMatch(/refused: the previous run is still going template=pgt-flights-scheduled run=pgt-flights-scheduled-\S+ trigger=run/);

            // The warehouse's primary killed in the middle of the run.
            await until(async () => (await sparkMaster()).activeapps.length === 1, 300_000, "the scheduled run's application on the master");
            await new Promise((r) => setTimeout(r, 30_000));
            const primary = (await healthy(60_000)).leader;
            await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-${primary})`, primary);
            const runService = (await runs()).split("\n")[0];
            await until(async () => (await sh(`docker service ps ${runService} --format '{{.CurrentState}}'`)).split("\n").some((s) => s.startsWith("Complete")), 900_000, "the scheduled run completed (after its retry)");
            const attempts = (await sh(`docker service ps ${runService} --format '{{.CurrentState}} {{.Error}}'`)).split("\n");
            figures.etl.push(`scheduled run with a failover: ${attempts.length} attempt(s): ${attempts.join("; ")}`);
            // Never a half-loaded snapshot: the last run that committed left exactly the first run's tables.
            expect(await psql(STAR_CHECKSUM)).toBe(firstChecksums);
            expect(await psql("SELECT status FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")).toBe("succeeded");
            // The failed attempt is recorded as failed (it reconnected after the failover to say so), none is left "running".
            expect(await psql("SELECT count(*) FILTER (WHERE status = 'running') || ' ' || count(*) FILTER (WHERE status = 'error') FROM flights.etl_run")).toBe("0 1");
        });

        test("a worker memory larger than its node's: the up fails with the node, the sizes and the fix, and no service changes", async () => {
            const before = await sh(`docker service inspect -f '{{.Version.Index}}' ${SPARK}-worker`);
            platform.workerMemory = "512g";
            const err = await stack().up({ onOutput: log("pgt-etl-up-memory") }).then(() => "the up succeeded", (e: Error) => e.message);
            platform.workerMemory = "1g";
            expect(err).toMatch(/wkr\d has [\d.]+ GiB of memory, less than the 513\.0 GiB that a Spark worker \(spark\.workers\.memory 512g \+ 1g for the worker daemon and Python\) needs; fix: lower spark\.workers\.memory, or place the workers on larger nodes \(spark\.workers\.label\); no service was changed/);
            expect(await sh(`docker service inspect -f '{{.Version.Index}}' ${SPARK}-worker`)).toBe(before);
        });

        test("bad config is refused by the program before anything changes: a runId of the wrong type; a cron that does not parse and a worker label no node has", async () => {
            const lab = await labStack();
            const previewWith = async (config: Record<string, unknown>) => {
                for (const [k, v] of Object.entries(config)) await lab.setConfig(`swarm-etl:${k}`, { value: JSON.stringify(v) });
                try {
                    return await lab.preview({ onOutput: log("lab-preview-bad") }).then((r) => `accepted: ${r.stdout}`, (e: Error) => e.message);
                } finally {
                    for (const k of Object.keys(config)) await lab.removeConfig(`swarm-etl:${k}`);
                }
            };
            const services = "docker service inspect -f '{{.Spec.Name}} {{.Version.Index}}' $(docker service ls -q) | sort";
            const before = await sh(services);
            expect(await previewWith({ etl: { runId: 7 } })).toContain("swarm-etl:etl.runId: 7 must be a string; fix: write a string");
            const out = await previewWith({ etl: { schedule: { cron: "0 25 * * *" } }, spark: { workers: { label: "swarm-etl.spark=gpu" } } });
            expect(out).toContain('swarm-etl:etl.schedule.cron: "0 25 * * *" is not a cron expression: Constraint error, got value 25 expected range 0-23; fix: e.g. "0 3 * * *" (every day at 03:00)');
            expect(out).toContain('swarm-etl:spark.workers.label: no active node carries the label swarm-etl.spark=gpu (nodes: mgr1, mgr2, mgr3, wkr1, wkr2); fix: add labels: {swarm-etl.spark: "gpu"}');
            expect(await sh(services)).toBe(before);
        });
    });
}
