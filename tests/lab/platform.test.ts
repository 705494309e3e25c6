// The platform on the lab, deployed once for the suite through the real engine
// (tests/lab/platform/suite.ts: the data tier with its backups and scheduler, Spark, the flights
// ETL, Keycloak with the realm as code, the edge, metrics, alerts, logs and traces), then the checks of each part against it, then the drills that break
// it, destructive ones last. The deploy itself is the ETL's first run on the Spark cluster, with a worker killed in the
// middle of it. Figures are printed at the end, not asserted beyond the issues' bounds (bench/
// measures them).
import { ensureSwarm, freshStack, log } from "./harness";
import { REPO } from "./labConfig";
import { labShell } from "./labShell";
import { until } from "./nodeShell";
import { dashboardChecks } from "./platform/dashboards";
import { edgeChecks, edgeDrills, edgeTeardown } from "./platform/edge";
import { etlChecks, killedWorker } from "./platform/etl";
import { logsChecks, logsDrills } from "./platform/logs";
import { alertDrills, observabilityChecks } from "./platform/observability";
import { postgresChecks, postgresDrills } from "./platform/postgres";
import { tracesChecks } from "./platform/traces";
import { figures, MEMBERS, NAME, platform, program, RESTORED, sh, SPARK, SPARK_WORKERS, sparkMaster, stack } from "./platform/suite";

beforeAll(async () => {
    await ensureSwarm();
    platform.stack = await freshStack(NAME, program, [NAME, ...Object.keys(RESTORED)]);
});

afterAll(async () => {
    await edgeTeardown();
    for (const h of MEMBERS) await labShell(`bash ${REPO}/lab/lab.sh dockerd ${h} start`).catch(() => undefined);
    if (figures.postgres.length) console.log(`PostgreSQL:\n  ${figures.postgres.join("\n  ")}`);
    if (figures.etl.length) console.log(`ETL on the swarm:\n  ${figures.etl.join("\n  ")}`);
    if (figures.edge.length) console.log(`Identity and the edge:\n  ${figures.edge.join("\n  ")}`);
    if (figures.observability.length) console.log(`Observability:\n  ${figures.observability.join("\n  ")}`);
    if (figures.alerts.length) console.log(`Alerts fired in the drills:\n  ${figures.alerts.join("\n  ")}`);
    if (figures.logs.length) console.log(`Logs:\n  ${figures.logs.join("\n  ")}`);
    // SWARM_ETL_KEEP_PLATFORM=1 leaves it deployed to look at (the next run's beforeAll removes it).
    if (process.env.SWARM_ETL_KEEP_PLATFORM === "1") console.log("SWARM_ETL_KEEP_PLATFORM=1: the platform stays deployed");
    else await platform.stack?.destroy({ onOutput: log("pgt-destroy") });
});

describe("the platform on the lab", () => {
    test("pulumi up deploys it from nothing (with Keycloak, the realm and the edge) and runs the ETL on Spark; a Spark worker killed in the middle of that run", async () => {
        const t0 = Date.now();
        const up = stack().up({ onOutput: log("pgt-up") });
        // Once the job's application runs on the master, kill one worker's container.
        const killer = (async () => {
            await until(async () => (await sparkMaster().catch(() => ({ activeapps: [] }))).activeapps.length === 1, 900_000, "the ETL application runs on the Spark master");
            await new Promise((r) => setTimeout(r, 20_000));
            const node = SPARK_WORKERS[1];
            killedWorker.container = await sh(`docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-worker`, node);
            await sh(`docker kill ${killedWorker.container}`, node);
            // The loss is visible on the master (which drops dead workers from its list minutes later).
            await until(async () => (await sparkMaster()).workers.some((w) => w.state === "DEAD"), 120_000, "the killed worker DEAD on the master");
            killedWorker.seenDead = true;
        })();
        const res = await up;
        await killer;
        expect(res.summary.result).toBe("succeeded");
        figures.postgres.push(`deploy from nothing, with Spark and the ETL's first run (a worker killed in it): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });
});

postgresChecks();
etlChecks();
observabilityChecks();
logsChecks();
edgeChecks();
tracesChecks();
dashboardChecks();
postgresDrills();
edgeDrills();
alertDrills();
logsDrills();
