// Bench: the flights ETL on the lab's Spark cluster, side by side with the same job in `local[2]`
// and the SQL baseline (bench.py's figures of the same run, --local-json), at 1x and 10x, with 2
// and 1 Spark workers. Run by bench/etl/swarm.sh, which builds the 10x image and the local figures
// first; writes bench/etl/swarm-results.md and keeps every run's raw figures in bench/etl/raw/.
//
// The stack `etlb`: a 2-member synchronous PostgreSQL (the platform's shape), Spark (master on
// mgr3, workers on wkr1/wkr2, 1 core and 3g each), the ETL job that `pulumi up` runs (driver 1g,
// executors 2g), and a psql client on mgr1 with the generated CSV files bind-mounted, for the raw
// `\copy` through the same router into the same server.
import * as fs from "fs";
import * as path from "path";
import { PostgresCluster } from "../../components/stacks/postgres/postgresCluster";
import { DEFAULT_DATABASES, DEFAULT_ROLES, POSTGRES_IMAGES } from "../../components/stacks/postgres/config";
import { roleSecret, SECRETS_DIR } from "../../components/stacks/postgres/render";
import { SparkCluster } from "../../components/stacks/spark/sparkCluster";
import { SPARK_IMAGE } from "../../components/stacks/spark/config";
import { etlPasswordRef, FlightsEtl } from "../../components/stacks/etl/flightsEtl";
import { Service } from "../../providers/swarm";
import { ensureSwarm, inlineStack, managerConnection, nodeConnections, secretKey } from "../../tests/lab/harness";
import { labConfig } from "../../tests/lab/labConfig";
import { b64, nodeShell, recordedImage } from "../../tests/lab/nodeShell";

const NAME = "etlb";
const SPARK = `${NAME}-spark`;
const ETL = `${NAME}-flights`;
const MASTER_NODE = "mgr3";
const WORKER_NODES = ["wkr1", "wkr2"];
const WORKER_MEMORY = "3g";
const EXECUTOR_MEMORY = "2g";
const DRIVER_MEMORY = "1g";
const HERE = __dirname;

function arg(name: string): string {
    const i = process.argv.indexOf(`--${name}`);
    if (i < 0 || !process.argv[i + 1]) throw new Error(`--${name} is required (bench/etl/swarm.sh passes it)`);
    return process.argv[i + 1];
}
/** --report RAW.json: only write swarm-results.md again from a run's raw file (the report's format changed). */
const reportOnly = process.argv.includes("--report") ? arg("report") : undefined;
const localJson = reportOnly ? "" : arg("local-json");
const image10x = reportOnly ? "" : arg("image-10x");
const sources = reportOnly ? "" : arg("sources"); // <dir>/source-<scale>x/*.csv, the same bytes the images landed
const scales = (process.argv.includes("--scales") ? arg("scales") : "1,10").split(",").map(Number);
/** Each PostgreSQL member's CPUs (postgres.resources.cpus); the lab's nodes have 2. */
const MEMBER_CPUS = process.argv.includes("--member-cpus") ? Number(arg("member-cpus")) : 2;
/** Runs of the 2-worker job per scale, each followed by a raw \copy (the same conditions, alternating). */
const RUNS = process.argv.includes("--runs") ? Number(arg("runs")) : 3;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs ${arg("runs")}: use a whole number ≥ 1 (the 2-worker runs per scale)`);
const MEMBER_MEMORY = "2G";

const cfg = labConfig();
const sh = nodeShell(cfg);
const CLIENT = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-client | head -n1)`;

const state: { image: string; workers: number; runId: string } = { image: recordedImage(cfg, SPARK_IMAGE), workers: 2, runId: "0" };

async function program() {
    const conn = { connection: managerConnection(), privateKey: secretKey() };
    const nodes = nodeConnections();
    const pgImage = recordedImage(cfg, POSTGRES_IMAGES.postgres);
    const pg = new PostgresCluster(NAME, {
        ...conn,
        nodeConnections: nodes,
        images: { postgres: pgImage, etcd: recordedImage(cfg, POSTGRES_IMAGES.etcd), router: recordedImage(cfg, POSTGRES_IMAGES.router) },
        members: WORKER_NODES,
        dcs: ["mgr1", "mgr2", "mgr3"],
        synchronous: true,
        resources: { cpus: MEMBER_CPUS, memory: MEMBER_MEMORY },
        databases: DEFAULT_DATABASES,
        roles: DEFAULT_ROLES,
        endpointMode: "dnsrr",
        encrypted: false,
    });
    new Service(`${NAME}-client`, {
        ...conn,
        name: `${NAME}-client`,
        image: pgImage,
        command: ["sleep", "infinity"],
        networks: [pg.network.networkId],
        endpointMode: "dnsrr",
        constraints: ["node.hostname==mgr1"],
        stopGracePeriod: "1s",
        mounts: [{ type: "bind", source: sources, target: "/bench", readOnly: true }],
        secrets: [{ secretId: pg.secrets.superuser.secretId, secretName: pg.secrets.superuser.secretName, target: `${NAME}-superuser`, uid: "999", gid: "999", mode: 0o400 }],
    }, { dependsOn: [pg] });
    const target = `${NAME}-${roleSecret("etl_writer")}`;
    const secret = pg.secrets[roleSecret("etl_writer")];
    const ref = etlPasswordRef(secret, target);
    const spark = new SparkCluster(SPARK, {
        ...conn,
        nodeConnections: nodes,
        image: state.image,
        masterNode: MASTER_NODE,
        workerNodes: WORKER_NODES,
        workerLabel: "swarm-etl.spark=worker",
        workers: state.workers,
        workerMemory: WORKER_MEMORY,
        executorNetworks: [pg.network.networkId],
        executorSecrets: [ref],
        endpointMode: "dnsrr",
        encrypted: false,
    });
    new FlightsEtl(ETL, {
        ...conn,
        image: state.image,
        spark,
        warehouse: { networkId: pg.network.networkId, endpoint: pg.primaryEndpoint, database: "warehouse", user: "etl_writer", schema: "flights", passwordSecret: ref, passwordFile: `${SECRETS_DIR}/${target}` },
        runId: state.runId,
        driverMemory: DRIVER_MEMORY,
        executorMemory: EXECUTOR_MEMORY,
        endpointMode: "dnsrr",
    }, { dependsOn: [pg.reconcile] });
}

async function psql(sql: string): Promise<string> {
    const cmd = `PGPASSWORD="$(cat /run/secrets/${NAME}-superuser)" psql -X -h ${NAME}-router -p 5432 -U postgres -d warehouse -v ON_ERROR_STOP=1 -Atq -f -`;
    return sh(`echo ${b64(sql)} | base64 -d | docker exec -i ${CLIENT} sh -c '${cmd}'`, "mgr1", 900_000);
}

const RAW_TABLES = ["airports", "airlines", "planes", "weather", "flights"];
const RAW_DDL = fs.readFileSync(path.join(HERE, "bench.py"), "utf8").match(/RAW_DDL = """([\s\S]*?)"""/)![1];

/** psql `\copy` of the scale's five CSV files into unindexed tables in one transaction, through the router. */
async function rawCopy(scale: number): Promise<{ seconds: number; rows: number }> {
    await psql(RAW_DDL);
    const copies = RAW_TABLES.map((t) => `\\copy raw_${t} FROM '/bench/source-${scale}x/${t}.csv' WITH (FORMAT csv, HEADER true, NULL 'NA')`).join("\n");
    const script = `SET search_path TO baseline;\nBEGIN;\n${copies}\nCOMMIT;\n`;
    const cmd = `t0=$(date +%s.%N); PGPASSWORD="$(cat /run/secrets/${NAME}-superuser)" psql -X -h ${NAME}-router -p 5432 -U postgres -d warehouse -v ON_ERROR_STOP=1 -q -f - >/dev/null && echo $t0 $(date +%s.%N)`;
    const out = await sh(`echo ${b64(script)} | base64 -d | docker exec -i ${CLIENT} sh -c '${cmd}'`, "mgr1", 900_000);
    const [a, b] = out.trim().split(/\s+/).map(Number);
    const rows = Number(await psql(`SELECT ${RAW_TABLES.map((t) => `(SELECT count(*) FROM baseline.raw_${t})`).join(" + ")}`));
    await psql("DROP SCHEMA baseline CASCADE");
    return { seconds: b - a, rows };
}

interface Run {
    scale: number;
    workers: number;
    runId: string;
    status: string;
    upSeconds: number;
    driverSeconds: number;
    runSeconds: number;
    rows: number;
    loadSeconds: number;
    loadRps: number;
    stages: Record<string, number>;
    swapHeld: number;
    executors: number;
    memory: Record<string, Record<string, number>>;
    log: string[];
}

const STAGE_RE = /stage (\w+): ([\d.]+) s/g;

/** The app's executors with their peak memory metrics, from the history server (it reads the event logs every 10 s). */
async function peakMemory(appId: string): Promise<Record<string, Record<string, number>>> {
    const history = `$(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-history | head -n1)`;
    const url = `http://127.0.0.1:18080/api/v1/applications/${appId}/allexecutors`;
    for (let i = 0; i < 30; i++) {
        const out = await sh(`docker exec ${history} python3 -c "import urllib.request,sys
try: print(urllib.request.urlopen('${url}').read().decode())
except Exception as e: print('[]')"`, MASTER_NODE).catch(() => "[]");
        const execs = JSON.parse(out || "[]") as { id: string; peakMemoryMetrics?: Record<string, number> }[];
        if (execs.length > 1 && execs.every((e) => e.peakMemoryMetrics)) return Object.fromEntries(execs.map((e) => [e.id, e.peakMemoryMetrics!]));
        await new Promise((r) => setTimeout(r, 3000));
    }
    throw new Error(`the history server has no executors with peak memory for ${appId} after 90 s`);
}

async function oneRun(stack: Awaited<ReturnType<typeof inlineStack>>, scale: number, workers: number, n: number): Promise<Run> {
    state.image = scale === 1 ? recordedImage(cfg, SPARK_IMAGE) : image10x;
    state.workers = workers;
    state.runId = `bench-${Date.now()}-${n}`;
    const t0 = Date.now();
    await stack.up({ onOutput: () => undefined });
    const upSeconds = (Date.now() - t0) / 1000;
    const row = (await psql(`SELECT status, extract(epoch FROM finished_at - started_at), rows_loaded, load_seconds, load_rows_per_second, spark_master FROM flights.etl_run ORDER BY started_at DESC LIMIT 1`)).split("|");
    // This run's task alone (the job service keeps the tasks of earlier runs).
    const task = (await sh(`docker inspect --format '{{.CreatedAt}} {{.ID}}' $(docker service ps -q --no-trunc ${ETL}) | sort | tail -n1`, "mgr1")).split(" ").pop()!;
    const logs = (await sh(`docker service logs --timestamps --raw ${task} 2>&1`, "mgr1")).split("\n").filter(Boolean);
    const stamps = logs.map((l) => Date.parse(l.split(" ")[0])).filter((t) => !Number.isNaN(t));
    const text = logs.join("\n");
    const stages = Object.fromEntries([...text.matchAll(STAGE_RE)].map((m) => [m[1], Number(m[2])]));
    const master = JSON.parse(await sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-master | head -n1) python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/json/').read().decode())"`, MASTER_NODE)) as { completedapps: { id: string; starttime: number }[] };
    const app = [...master.completedapps].sort((a, b) => b.starttime - a.starttime)[0];
    const memory = await peakMemory(app.id);
    const r: Run = {
        scale, workers, runId: state.runId, status: row[0], upSeconds,
        driverSeconds: (Math.max(...stamps) - Math.min(...stamps)) / 1000,
        runSeconds: Number(row[1]), rows: Number(row[2]), loadSeconds: Number(row[3]), loadRps: Number(row[4]),
        stages, swapHeld: Number(/swap: .* held ([\d.]+) s/.exec(text)?.[1] ?? NaN),
        executors: Object.keys(memory).filter((k) => k !== "driver").length, memory,
        log: logs.filter((l) => / flights_etl: /.test(l) && /load:|stage |swap:|check:/.test(l)).map((l) => l.replace(/^\S+\s/, "")),
    };
    if (r.status !== "succeeded") throw new Error(`the ${scale}x run with ${workers} workers did not succeed: ${row.join("|")}\n${text.slice(-3000)}`);
    console.log(`${scale}x, ${workers} worker(s): run ${r.runSeconds.toFixed(1)} s (driver ${r.driverSeconds.toFixed(1)} s), load ${r.loadRps.toFixed(0)} rows/s, executors ${r.executors}`);
    return r;
}

const mib = (b: number | undefined) => (b === undefined || b <= 0 ? "–" : `${Math.round(b / 1048576).toLocaleString("en-US")} MiB`);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Raw { seconds: number; rows: number; runs: number[] }

function report(runs: Run[], raw: Record<number, Raw>, local: any, startedAt: string): string {
    const L: string[] = [];
    const versions = `Spark 4.3 standalone (the platform's image), PostgreSQL 15 with Patroni (2 members of ${MEMBER_CPUS} CPU${MEMBER_CPUS === 1 ? "" : "s"} and ${MEMBER_MEMORY}, synchronous replication), through the kernel-forwarding router`;
    L.push("# ETL bench on the swarm: the Spark cluster against `local[2]` and the SQL baseline", "");
    L.push(`Measured ${startedAt} by \`bash bench/etl/swarm.sh\` on the lab (this machine: ${require("os").cpus().length} cores shared by every lab node; ${versions}).`);
    L.push(`Cluster runs: master on ${MASTER_NODE}, workers of 1 core and ${WORKER_MEMORY} on ${WORKER_NODES.join("/")}, driver ${DRIVER_MEMORY} (the job's task on the master's node), executors ${EXECUTOR_MEMORY}. Local runs: bench.py in the same run, \`${local.master}\`, driver ${local.driver_memory}, its own PostgreSQL 15 on this machine (one server, wal_level minimal). The 2-worker job and raw \`\\copy\` alternate, each the median of ${RUNS} run${RUNS === 1 ? "" : "s"}; the 1-worker job, \`local[2]\` and the SQL baseline one run each.`, "");
    L.push("| scale | flights | cluster, 2 workers | cluster, 1 worker | speed-up 1 → 2 | `local[2]` (bench.py) | SQL baseline (bench.py) | cluster ÷ local |");
    L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const s of scales) {
        const two = runs.filter((r) => r.scale === s && r.workers === 2);
        const one = runs.filter((r) => r.scale === s && r.workers === 1);
        const loc = local.scales[String(s)];
        const t2 = med(two.map((r) => r.driverSeconds)), t1 = med(one.map((r) => r.driverSeconds));
        const tl = med(loc.ours.map((o: any) => o.total_s)), tb = med(loc.baseline.map((b: any) => b.total_s));
        L.push(`| ${s}x | ${loc.raw_rows.flights.toLocaleString("en-US")} | ${t2.toFixed(1)} s | ${t1.toFixed(1)} s | ${(t1 / t2).toFixed(2)}× | ${tl.toFixed(1)} s | ${tb.toFixed(1)} s | ${(t2 / tl).toFixed(2)} |`);
    }
    L.push("", "The load phase against raw `\\copy` into the same PostgreSQL (on the swarm: through the router, from a client on mgr1; local: bench.py's):", "");
    L.push("| scale | cluster load phase (2 workers) | raw `\\copy` on the swarm | load ÷ raw (swarm) | the same, 1 worker | local load phase | local raw `\\copy` | load ÷ raw (local) |");
    L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const ratio = (rs: Run[], rawRps: number) => (rs.length ? `${med(rs.map((r) => r.loadSeconds)).toFixed(2)} s, ${(med(rs.map((r) => r.loadRps)) / rawRps).toFixed(3)}` : "–");
    for (const s of scales) {
        const two = runs.filter((r) => r.scale === s && r.workers === 2);
        const one = runs.filter((r) => r.scale === s && r.workers === 1);
        const loc = local.scales[String(s)];
        const rps = med(two.map((r) => r.loadRps));
        const rawRps = raw[s].rows / raw[s].seconds;
        const totalRaw = Object.values(loc.raw_rows as Record<string, number>).reduce((a, b) => a + b, 0);
        const lrps = med(loc.ours.map((o: any) => o.load_rps)), lraw = med(loc.baseline.map((b: any) => totalRaw / b.copy_s));
        L.push(`| ${s}x | ${med(two.map((r) => r.loadSeconds)).toFixed(2)} s, ${Math.round(rps).toLocaleString("en-US")} rows/s | ${raw[s].seconds.toFixed(2)} s, ${Math.round(rawRps).toLocaleString("en-US")} rows/s | ${(rps / rawRps).toFixed(3)} | ${ratio(one, rawRps)} | ${Math.round(lrps).toLocaleString("en-US")} rows/s | ${Math.round(lraw).toLocaleString("en-US")} rows/s | ${(lrps / lraw).toFixed(3)} |`);
    }
    for (const s of scales) {
        const two = runs.filter((r) => r.scale === s && r.workers === 2);
        if (two.length === raw[s].runs.length && two.length > 1)
            L.push("", `${s}x, each 2-worker run against the raw \`\\copy\` run after it: ${two.map((r, i) => (r.loadRps / (raw[s].rows / raw[s].runs[i])).toFixed(3)).join(", ")}.`);
    }
    L.push("", "Peak memory (Spark's own executor metrics: the highest of any stage, from the history server; RSS is the JVM's resident set from /proc):", "");
    L.push("| scale | workers | driver heap | driver off-heap | driver RSS | executor heap (max) | executor off-heap (max) | executor RSS (max) |");
    L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of runs) {
        const d = r.memory.driver ?? {};
        const ex = Object.entries(r.memory).filter(([k]) => k !== "driver").map(([, m]) => m);
        const mx = (k: string) => Math.max(...ex.map((m) => m[k] ?? 0));
        L.push(`| ${r.scale}x | ${r.workers} | ${mib(d.JVMHeapMemory)} | ${mib(d.JVMOffHeapMemory)} | ${mib(d.ProcessTreeJVMRSSMemory)} | ${mib(mx("JVMHeapMemory"))} | ${mib(mx("JVMOffHeapMemory"))} | ${mib(mx("ProcessTreeJVMRSSMemory"))} |`);
    }
    L.push("", "Every run (stages as the job logs them, seconds):", "");
    for (const r of runs) {
        L.push(`- ${r.scale}x, ${r.workers} worker(s): driver ${r.driverSeconds.toFixed(1)} s (first to last log line), etl_run ${r.runSeconds.toFixed(1)} s, \`pulumi up\` ${r.upSeconds.toFixed(1)} s; ${r.rows.toLocaleString("en-US")} rows loaded in ${r.loadSeconds.toFixed(2)} s (${Math.round(r.loadRps).toLocaleString("en-US")} rows/s); swap locks held ${r.swapHeld} s; ${r.executors} executor(s)`);
        L.push("", "  ```", ...r.log.map((l) => "  " + l), "  ```", "");
    }
    for (const s of scales) L.push(`- raw \`\\copy\` on the swarm, ${s}x: ${raw[s].rows.toLocaleString("en-US")} rows in ${raw[s].runs.map((x) => x.toFixed(2)).join(", ")} s (median ${raw[s].seconds.toFixed(2)} s)`);
    L.push("", "What is compared:", "",
        "- **cluster**: the job as the platform runs it: a `pulumi up` with a new `runId` runs the `replicated-job` task, whose driver submits to the master; the time is the driver's, from its first log line to its last (Spark start, extract from the image's landed batch, transform, the executors' COPY into staging, checks, swap). The 10x runs use an image built FROM the platform's Spark image with the 10x batch landed in it (bench/etl/Dockerfile.10x), on the master, the workers and the job alike.",
        "- **local**: bench.py's `python -m flights_etl` in `local[2]` on this machine, the driver also the executor; **SQL baseline**: `\\copy` of the raw CSV files + baseline_transform.sql (no quarantine, checks or run log). See results.md for what bench.py measures.",
        "- **load phase**: the job's own figure (staging tables, the executors' binary COPY, primary keys; etl_run.load_rows_per_second); **raw `\\copy`**: psql `\\copy` of the five raw CSV files in one transaction into unindexed tables, on the swarm through the same router into the same 2-member synchronous cluster.",
        "- The lab's nodes share this machine's cores: 2 workers of 1 core each are at most 2 cores with the driver, PostgreSQL and the router beside them, so the speed-up from 1 to 2 workers is bounded by the machine, not by Spark.",
        "");
    return L.join("\n");
}

async function main() {
    if (reportOnly) {
        const saved = JSON.parse(fs.readFileSync(reportOnly, "utf8")) as { startedAt: string; runs: Run[]; raw: Record<number, Raw>; local: unknown };
        fs.writeFileSync(path.join(HERE, "swarm-results.md"), report(saved.runs, saved.raw, saved.local, saved.startedAt));
        return;
    }
    const local = JSON.parse(fs.readFileSync(localJson, "utf8"));
    const startedAt = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
    await ensureSwarm();
    const stack = await inlineStack(NAME, program);
    await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
    const runs: Run[] = [];
    const raw: Record<number, Raw> = {};
    try {
        let n = 0;
        for (const s of scales) {
            const copies = [];
            for (let i = 0; i < RUNS; i++) {
                runs.push(await oneRun(stack, s, 2, n++));
                copies.push(await rawCopy(s));
            }
            runs.push(await oneRun(stack, s, 1, n++));
            raw[s] = { seconds: med(copies.map((c) => c.seconds)), rows: copies[0].rows, runs: copies.map((c) => c.seconds) };
            console.log(`raw \\copy on the swarm, ${s}x: ${raw[s].rows} rows in ${raw[s].runs.map((x) => x.toFixed(2)).join(", ")} s`);
        }
    } finally {
        const rawDir = path.join(HERE, "raw");
        fs.mkdirSync(rawDir, { recursive: true });
        fs.writeFileSync(path.join(rawDir, `swarm-${startedAt.replace(/[: ]/g, "-")}.json`), JSON.stringify({ startedAt, runs, raw, local }, null, 1));
        await stack.destroy({ onOutput: () => undefined }).catch((e) => console.error(`destroy of ${NAME} failed: ${e}`));
    }
    const md = report(runs, raw, local, startedAt);
    fs.writeFileSync(path.join(HERE, "swarm-results.md"), md);
    console.log(md);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
