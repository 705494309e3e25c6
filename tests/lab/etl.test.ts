// The ETL on the lab's Spark cluster, through the real engine: one deploy for the file (a small
// PostgreSQL cluster with its router, the scheduler, Spark's master, workers and history server,
// the ETL job that `pulumi up` runs), then the drills against it. Every Swarm object here is
// named etlt-*. Runs: the first at deploy, with a Spark worker killed in the middle; then, after the
// master was restarted, one started by the schedule (a cron in Europe/Berlin time), during which a
// second trigger is refused and the warehouse's primary is killed: that attempt fails and the
// job's retry loads the warehouse, into exactly the tables of the first run.
import { Stack } from "@pulumi/pulumi/automation";
import { FlightsEtl } from "../../components/stacks/etl/flightsEtl";
import { PostgresCluster } from "../../components/stacks/postgres/postgresCluster";
import { DEFAULT_ROLES, POSTGRES_IMAGES } from "../../components/stacks/postgres/config";
import { roleSecret, SECRETS_DIR } from "../../components/stacks/postgres/render";
import { Scheduler, SCHEDULER_IMAGE } from "../../components/stacks/scheduler/scheduler";
import { SPARK_IMAGE } from "../../components/stacks/spark/config";
import { PUSHGATEWAY_IMAGE } from "../../components/stacks/etl/config";
import { SparkCluster, SPARK_UID } from "../../components/stacks/spark/sparkCluster";
import { ensureSwarm, inlineStack, labStack, log, managerConnection, nodeConnections, secretKey } from "./harness";
import { labConfig } from "./labConfig";
import { b64, nodeShell, recordedImage, until } from "./nodeShell";

const cfg = labConfig();
const NAME = "etlt";
const WORKERS = ["wkr1", "wkr2"];
const MASTER_NODE = "mgr3";
const sh = nodeShell(cfg);
const image = (name: string) => recordedImage(cfg, name);

/** What the next `up` deploys. */
const state: { runId: string; schedule?: { cron: string; timeZone: string }; workerMemory: string } = { runId: "1", workerMemory: "1g" };
let stack: Stack;
const figures: string[] = [];

async function program() {
    const connection = managerConnection();
    const privateKey = secretKey();
    const pg = new PostgresCluster(`${NAME}-pg`, {
        connection,
        privateKey,
        nodeConnections: nodeConnections(),
        images: { postgres: image(POSTGRES_IMAGES.postgres), etcd: image(POSTGRES_IMAGES.etcd), router: image(POSTGRES_IMAGES.router) },
        members: WORKERS,
        dcs: ["mgr1"],
        databases: [{ name: "warehouse", owner: "warehouse" }],
        roles: DEFAULT_ROLES,
        routerReplicas: 1,
        endpointMode: "dnsrr",
        encrypted: false,
    });
    const scheduler = new Scheduler(`${NAME}-scheduler`, { connection, privateKey, image: image(SCHEDULER_IMAGE), tickSeconds: 5 });
    const target = `${NAME}-pg-${roleSecret("etl_writer")}`;
    const secret = pg.secrets[roleSecret("etl_writer")];
    const ref = { secretId: secret.secretId, secretName: secret.secretName, target, uid: String(SPARK_UID), gid: String(SPARK_UID), mode: 0o400 };
    const spark = new SparkCluster(`${NAME}-spark`, {
        connection,
        privateKey,
        nodeConnections: nodeConnections(),
        image: image(SPARK_IMAGE),
        masterNode: MASTER_NODE,
        workerNodes: WORKERS,
        workerLabel: "swarm-etl.spark=worker",
        workerMemory: state.workerMemory,
        executorNetworks: [pg.network.networkId],
        executorSecrets: [ref],
        endpointMode: "dnsrr",
        encrypted: false,
    });
    const etl = new FlightsEtl(
        `${NAME}-flights`,
        {
            connection,
            privateKey,
            image: image(SPARK_IMAGE),
            spark,
            warehouse: { networkId: pg.network.networkId, endpoint: pg.primaryEndpoint, database: "warehouse", user: "etl_writer", schema: "flights", passwordSecret: ref, passwordFile: `${SECRETS_DIR}/${target}` },
            runId: state.runId,
            schedule: state.schedule,
            executorMemory: "768m",
            pushgateway: { image: image(PUSHGATEWAY_IMAGE), nodeConnection: nodeConnections()[MASTER_NODE] },
            endpointMode: "dnsrr",
        },
        { dependsOn: [pg.reconcile, scheduler] },
    );
    return { job: etl.jobName, template: etl.templateName };
}

/** SQL on the warehouse as the superuser, from a member's container, through the router. */
async function psql(query: string): Promise<string> {
    const cmd = `PGPASSWORD="$(cat /run/secrets/${NAME}-pg-superuser)" psql -h ${NAME}-pg-router -U postgres -d warehouse -v ON_ERROR_STOP=1 -Atq -f -`;
    for (const node of WORKERS) {
        const c = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-pg-${node} | head -n1)`;
        const out = await sh(`echo ${b64(query)} | base64 -d | docker exec -i ${c} sh -c '${cmd}'`, node).catch((e: Error) => e);
        if (!(out instanceof Error)) return out;
        if (node === WORKERS[WORKERS.length - 1]) throw out;
    }
    throw new Error("unreachable");
}

/** The master's JSON (its UI's /json/), read inside its container. */
async function master(): Promise<{ status: string; workers: { id: string; state: string; host: string }[]; activeapps: { id: string; name: string }[]; completedapps: { id: string; name: string; state: string }[] }> {
    const c = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-master | head -n1)`;
    return JSON.parse(await sh(`docker exec ${c} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/json/').read().decode())"`, MASTER_NODE));
}

/** md5 of every data table's rows, in key order: equal tables, equal checksums. */
const CHECKSUM = `SELECT string_agg(t || ':' || h, ' ' ORDER BY t) FROM (
  SELECT 'dim_date' t, md5(string_agg(d::text, '|' ORDER BY d.date_key)) h FROM flights.dim_date d
  UNION ALL SELECT 'dim_airport', md5(string_agg(d::text, '|' ORDER BY d.airport_key)) FROM flights.dim_airport d
  UNION ALL SELECT 'dim_airline', md5(string_agg(d::text, '|' ORDER BY d.airline_key)) FROM flights.dim_airline d
  UNION ALL SELECT 'dim_plane', md5(string_agg(d::text, '|' ORDER BY d.plane_key)) FROM flights.dim_plane d
  UNION ALL SELECT 'dim_weather', md5(string_agg(d::text, '|' ORDER BY d.weather_key)) FROM flights.dim_weather d
  UNION ALL SELECT 'fact_flight', md5(string_agg(f::text, '|' ORDER BY f.flight_key)) FROM flights.fact_flight f
  UNION ALL SELECT 'quarantine', md5(coalesce(string_agg(q::text, '|' ORDER BY q::text), '')) FROM flights.quarantine q) x`;

let firstChecksums = "";

beforeAll(async () => {
    await ensureSwarm();
    stack = await inlineStack(NAME, program);
    await stack.destroy({ onOutput: log("etlt-destroy-before") });
});

afterAll(async () => {
    if (figures.length) console.log(`ETL on the swarm:\n  ${figures.join("\n  ")}`);
    await stack?.destroy({ onOutput: log("etlt-destroy") });
});

describe("the flights ETL on the lab's Spark cluster", () => {
    test("pulumi up deploys Spark and runs the job on it (not local), a worker killed in the middle: every check passes", async () => {
        const t0 = Date.now();
        let killed = "";
        const up = stack.up({ onOutput: log("etlt-up") });
        // Once the job's application runs on the master, kill one worker's container.
        const killer = (async () => {
            await until(async () => (await master()).activeapps.length === 1, 900_000, "the ETL application runs on the Spark master");
            await new Promise((r) => setTimeout(r, 20_000));
            const node = WORKERS[1];
            killed = await sh(`docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-worker`, node);
            await sh(`docker kill ${killed}`, node);
        })();
        const res = await up;
        await killer;
        expect(res.summary.result).toBe("succeeded");
        figures.push(`deploy and first run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        expect(killed).toMatch(/^[0-9a-f]+$/);

        const run = (await psql("SELECT status || ' ' || spark_master || ' ' || coalesce(array_length(failed_checks, 1), 0) FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")).split(" ");
        expect(run).toEqual(["succeeded", `spark://${NAME}-spark-master:7077`, "0"]);
        expect(await psql("SELECT count(*) FILTER (WHERE NOT passed) || ' ' || (count(*) > 50) FROM flights.etl_dq_result WHERE run_id = (SELECT run_id FROM flights.etl_run ORDER BY started_at DESC LIMIT 1)")).toBe("0 true");
        expect(await psql("SELECT count(*) FROM flights.fact_flight")).toBe("336776");
        // The application ran on the cluster, and the lost worker is visible on the master.
        const m = await master();
        expect(m.completedapps.some((a) => a.name === "swarm-etl-flights" && a.state === "FINISHED")).toBe(true);
        expect(m.workers.filter((w) => w.state === "DEAD").length).toBeGreaterThanOrEqual(1);
        await until(async () => (await master()).workers.filter((w) => w.state === "ALIVE").length === 2, 120_000, "both workers ALIVE again");
        // Its event log is kept: the history server lists the finished application.
        const history = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-history | head -n1)`;
        const apps = async () => JSON.parse(await sh(`docker exec ${history} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:18080/api/v1/applications').read().decode())"`, MASTER_NODE)) as { name: string; attempts: { completed: boolean }[] }[];
        await until(async () => (await apps()).some((a) => a.name === "swarm-etl-flights" && a.attempts.every((t) => t.completed)), 60_000, "the history server lists the finished run");
        // The run's metrics are on the gateway, for Prometheus.
        const gw = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-flights-pushgateway | head -n1)`;
        const metrics = await sh(`docker exec ${gw} curl -fsS http://127.0.0.1:9091/metrics`, MASTER_NODE);
        expect(metrics).toMatch(/^swarm_etl_run_outcome\{.*outcome="succeeded".*\} 1$/m);
        expect(metrics).toMatch(/^swarm_etl_rows\{.*stage="load".*table="fact_flight".*\} 336776$/m);
        firstChecksums = await psql(CHECKSUM);
        expect(firstChecksums.split(" ")).toHaveLength(7);
    });

    test("Spark's own metrics are served for Prometheus by the master and the workers", async () => {
        const c = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-master | head -n1)`;
        const text = await sh(`docker exec ${c} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/metrics/master/prometheus').read().decode())"`, MASTER_NODE);
        expect(text).toMatch(/^metrics_master_aliveWorkers_Value\{.*\} 2$/m);
        const w = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-worker | head -n1)`;
        expect(await sh(`docker exec ${w} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8081/metrics/prometheus').read().decode())"`, WORKERS[0])).toMatch(/^metrics_worker_coresFree_Value\{.*\} \d+$/m);
    });

    test("the master restarted between runs; the schedule fires on the swarm, a second trigger is refused, a failover in the run is retried into identical tables", async () => {
        const workerTasks = await sh(`docker service ps -q --filter desired-state=running ${NAME}-spark-worker`);
        await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-master)`, MASTER_NODE);
        const t0 = Date.now();
        await until(async () => {
            const m = await master();
            return m.status === "ALIVE" && m.workers.filter((w) => w.state === "ALIVE").length === 2;
        }, 180_000, "the restarted master ALIVE with both workers");
        figures.push(`master restart to ALIVE with its 2 workers: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        // Recovered, not re-registered: the workers' tasks are the same ones.
        expect(await sh(`docker service ps -q --filter desired-state=running ${NAME}-spark-worker`)).toBe(workerTasks);

        // A schedule that fires once, two minutes from now, in Berlin's time.
        const at = new Date(Date.now() + 120_000);
        const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "numeric", minute: "numeric", hourCycle: "h23" }).formatToParts(at).map((p) => [p.type, p.value]));
        state.schedule = { cron: `${Number(parts.minute)} ${Number(parts.hour)} * * *`, timeZone: "Europe/Berlin" };
        const res = await stack.up({ onOutput: log("etlt-up-schedule") });
        expect(res.summary.result).toBe("succeeded");
        expect(res.summary.resourceChanges?.create).toBe(1); // the template only: the job did not run again
        const template = `${NAME}-flights-scheduled`;
        const runs = () => sh(`docker service ls -q --filter label=swarm-etl.run-of=${template}`);
        await until(async () => (await runs()) !== "", 240_000, "the scheduler started a run of the template");
        const firedAt = Date.now();
        expect(Math.abs(firedAt - at.getTime())).toBeLessThan(75_000);

        // While it runs: a second trigger is refused.
        const sched = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-scheduler | head -n1)`;
        const schedNode = await sh(`docker service ps ${NAME}-scheduler --filter desired-state=running --format '{{.Node}}'`);
        const refused = await sh(`docker exec ${sched} swarm-etl-scheduler run ${template} 2>&1; echo "exit $?"`, schedNode);
        expect(refused).toMatch(/refused: etlt-flights-scheduled-\S+ of etlt-flights-scheduled is still going/);
        expect(refused).toMatch(/exit 1$/);
        // ... and recorded in the scheduler's own log.
        expect(await sh(`docker service logs ${NAME}-scheduler 2>&1`)).toMatch(/refused: the previous run is still going template=etlt-flights-scheduled run=etlt-flights-scheduled-\S+ trigger=run/);

        // The warehouse's primary killed in the middle of the run.
        await until(async () => (await master()).activeapps.length === 1, 300_000, "the scheduled run's application on the master");
        await new Promise((r) => setTimeout(r, 30_000));
        const primary = await primaryNode();
        await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-pg-${primary})`, primary);
        const runService = (await runs()).split("\n")[0];
        await until(async () => (await sh(`docker service ps ${runService} --format '{{.CurrentState}}'`)).split("\n").some((s) => s.startsWith("Complete")), 900_000, "the scheduled run completed (after its retry)");
        const attempts = (await sh(`docker service ps ${runService} --format '{{.CurrentState}} {{.Error}}'`)).split("\n");
        figures.push(`scheduled run with a failover: ${attempts.length} attempt(s): ${attempts.join("; ")}`);
        // Never a half-loaded snapshot: the last run that committed left exactly the first run's tables.
        expect(await psql(CHECKSUM)).toBe(firstChecksums);
        expect(await psql("SELECT status FROM flights.etl_run ORDER BY started_at DESC LIMIT 1")).toBe("succeeded");
        // The failed attempt is recorded as failed (it reconnected after the failover to say so), none is left "running".
        expect(await psql("SELECT count(*) FILTER (WHERE status = 'running') || ' ' || count(*) FILTER (WHERE status = 'error') FROM flights.etl_run")).toBe("0 1");
    });

    test("a worker memory larger than its node's: the up fails with the node, the sizes and the fix, and no service changes", async () => {
        const before = await sh(`docker service inspect -f '{{.Version.Index}}' ${NAME}-spark-worker`);
        state.workerMemory = "512g";
        const err = await stack.up({ onOutput: log("etlt-up-memory") }).then(() => "the up succeeded", (e: Error) => e.message);
        state.workerMemory = "1g";
        expect(err).toMatch(/wkr\d has [\d.]+ GiB of memory, less than the 513\.0 GiB that a Spark worker \(spark\.workers\.memory 512g \+ 1g for the worker daemon and Python\) needs; fix: lower spark\.workers\.memory, or place the workers on larger nodes \(spark\.workers\.label\); no service was changed/);
        expect(await sh(`docker service inspect -f '{{.Version.Index}}' ${NAME}-spark-worker`)).toBe(before);
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

/** The node of the member Patroni calls the leader. */
async function primaryNode(): Promise<string> {
    for (const node of WORKERS) {
        const c = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-pg-${node} | head -n1)`;
        const role = await sh(`docker exec ${c} sh -c 'PGPASSWORD="$(cat /run/secrets/${NAME}-pg-superuser)" psql -h localhost -U postgres -Atc "SELECT pg_is_in_recovery()"'`, node).catch(() => "");
        if (role === "f") return node;
    }
    throw new Error("no member is primary");
}
