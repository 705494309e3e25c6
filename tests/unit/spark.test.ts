// Spark and the ETL job: their slices of the stack config (every problem with its key and its fix),
// the scheduler's labels and schedule checks, and the components' graph under Pulumi mocks.
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config/schema";
import { resolveSparkNodes } from "../../components/stacks/spark/config";
import { SparkCluster } from "../../components/stacks/spark/sparkCluster";
import { attemptMarker, etlEnv, FlightsEtl } from "../../components/stacks/etl/flightsEtl";
import { scheduledJobLabels, scheduleProblem, timeZoneProblem } from "../../components/stacks/scheduler/labels";
import { cpuCheckMessage, memoryCheckMessage } from "../../providers/swarm/imageCheck";
import { HOST_KEY, installMocks, LAB_IMAGES, labConfig, Registered, valueOf, configProblems } from "./mocks";

const problems = configProblems;

const nodesOf = (cfg: ReturnType<typeof parseStackConfig>) => [...cfg.managers, ...cfg.workers];

describe("the spark and etl slices of the stack config", () => {
    test("the lab config: master on the labelled manager, a worker on each labelled worker, the job with its defaults", () => {
        const cfg = parseStackConfig(labConfig());
        expect(cfg.spark).toEqual({ enabled: true, master: {}, workers: { label: "swarm-etl.spark=worker", cores: 1, memory: "2g" }, executorMemory: "1g", history: true });
        expect(cfg.etl).toEqual({ enabled: true, database: "warehouse", role: "etl_writer", schema: "flights", driverMemory: "1g", keepRuns: 3 });
        expect(resolveSparkNodes(cfg.spark, nodesOf(cfg))).toEqual({ master: "mgr3", workers: ["wkr1", "wkr2"], replicas: 2 });
        // Unlabelled master: the first active node that runs no worker.
        const managers = [1, 2, 3].map((i) => ({ name: `mgr${i}`, publicAddress: `198.18.10.${10 + i}`, privateAddress: `198.18.20.${10 + i}`, hostKey: HOST_KEY }));
        expect(resolveSparkNodes(parseStackConfig(labConfig({ managers })).spark, nodesOf(parseStackConfig(labConfig({ managers })))).master).toBe("mgr1");
    });

    test("a cron expression that does not parse, a time zone that does not exist", () => {
        expect(problems(labConfig({ etl: { schedule: { cron: "0 25 * * *" } } }))).toEqual([
            'swarm-etl:etl.schedule.cron: "0 25 * * *" is not a cron expression: Constraint error, got value 25 expected range 0-23; fix: e.g. "0 3 * * *" (every day at 03:00)',
        ]);
        expect(problems(labConfig({ etl: { schedule: { cron: "every night" } } }))).toEqual([
            'swarm-etl:etl.schedule.cron: "every night" is not a cron expression of five fields (minute hour day-of-month month day-of-week); fix: e.g. "0 3 * * *" (every day at 03:00)',
        ]);
        expect(problems(labConfig({ etl: { schedule: { cron: "30 2 * * *", timeZone: "Europe/Atlantis" } } }))).toEqual([
            'swarm-etl:etl.schedule.timeZone: "Europe/Atlantis" is not an IANA time zone; fix: e.g. "UTC", "Europe/Berlin" or "America/New_York"',
        ]);
        expect(() => parseStackConfig(labConfig({ etl: { schedule: { cron: "30 2 * * 1-5", timeZone: "Europe/Berlin" } } }))).not.toThrow();
    });

    test("data-quality thresholds: shares from 0 to 1, passed to the job as its DQ_* settings", () => {
        expect(problems(labConfig({ etl: { dq: { maxUnknownRate: 25 } } }))).toEqual([expect.stringMatching(/^swarm-etl:etl\.dq\.maxUnknownRate: 25 .*fix/)]);
        expect(problems(labConfig({ etl: { dq: { minRows: 5 } } }))).toEqual([expect.stringMatching(/^swarm-etl:etl\.dq.*minRows/)]);
        const env = etlEnv({ warehouse: { endpoint: "r:5432" } as never, dq: { maxUnknownRate: 0.05 } }, "spark://m:7077", "up");
        expect(env.DQ_MAX_UNKNOWN_RATE).toBe("0.05");
        expect(env.DQ_MAX_QUARANTINE_RATE).toBeUndefined();
    });

    test("a runId of the wrong type", () => {
        expect(problems(labConfig({ etl: { runId: 7 } }))).toEqual(["swarm-etl:etl.runId: 7 must be a string; fix: write a string"]);
    });

    test("a worker label that no node carries, that is not key=value, more workers than labelled nodes", () => {
        expect(problems(labConfig({ spark: { workers: { label: "swarm-etl.spark=gpu" } } }))).toEqual([
            'swarm-etl:spark.workers.label: no active node carries the label swarm-etl.spark=gpu (nodes: mgr1, mgr2, mgr3, wkr1, wkr2); fix: add labels: {swarm-etl.spark: "gpu"} to the nodes that should run Spark workers, or set spark.workers.label to a label they have',
        ]);
        expect(problems(labConfig({ spark: { workers: { label: "gpu" } } }))).toEqual(['swarm-etl:spark.workers.label: "gpu" is not a node label as key=value; fix: e.g. swarm-etl.spark=worker']);
        expect(problems(labConfig({ spark: { workers: { replicas: 3 } } }))).toEqual([
            "swarm-etl:spark.workers.replicas: 3 workers need 3 nodes labelled swarm-etl.spark=worker (one worker per node), but 2 are (wkr1, wkr2); fix: label more nodes, or lower spark.workers.replicas",
        ]);
    });

    test("memory sizes: not a JVM size, an executor larger than a worker, a master on an unknown node", () => {
        expect(problems(labConfig({ spark: { workers: { memory: "2GB" } } }))).toEqual([expect.stringMatching(/^swarm-etl:spark\.workers\.memory: .*fix: a whole number of megabytes or gigabytes, e\.g\. 512m or 2g/)]);
        expect(problems(labConfig({ spark: { executorMemory: "4g" } }))).toEqual([
            "swarm-etl:spark.executorMemory: 4g is more than a worker offers (spark.workers.memory 2g), so no executor could start; fix: lower spark.executorMemory or raise spark.workers.memory",
        ]);
        expect(problems(labConfig({ spark: { master: { node: "mgr9" } } }))).toEqual(['swarm-etl:spark.master.node: "mgr9" is not a node of the stack (nodes: mgr1, mgr2, mgr3, wkr1, wkr2); fix: name one of them']);
    });

    test("the job needs Spark, PostgreSQL and a role that may write its schema", () => {
        expect(problems(labConfig({ spark: { enabled: false } }))).toEqual(["swarm-etl:etl.enabled: the ETL job runs on the Spark cluster, but spark.enabled is false; fix: enable spark, or set etl.enabled false"]);
        expect(problems(labConfig({ etl: { role: "analyst" } }))).toEqual([
            "swarm-etl:etl.role: analyst has no write grant on warehouse's schema flights; fix: give it grants: [{database: warehouse, privileges: write, schemas: [flights]}] in postgres.roles",
        ]);
        expect(problems(labConfig({ etl: { database: "lake" } }))).toEqual(['swarm-etl:etl.database: "lake" is not a database of postgres.databases (warehouse, keycloak); fix: name one, or add it']);
        const { spark: _spark, "etl-pushgateway": _gateway, ...noSpark } = LAB_IMAGES;
        expect(problems(labConfig({ images: noSpark }))).toEqual([
            "swarm-etl:images.spark: is not set, and spark is enabled; fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it",
            "swarm-etl:images.etl-pushgateway: is not set, and etl is enabled; fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it",
        ]);
        expect(() => parseStackConfig(labConfig({ spark: { enabled: false }, etl: { enabled: false } }))).not.toThrow();
    });
});

describe("the scheduler's schedule", () => {
    test("labels carry the time zone unless it is UTC", () => {
        expect(scheduledJobLabels("0 3 * * *", 5, "Europe/Berlin")).toEqual({ "swarm-etl.schedule": "0 3 * * *", "swarm-etl.schedule.keep": "5", "swarm-etl.schedule.tz": "Europe/Berlin", "swarm-etl.role": "job-template" });
        expect(scheduledJobLabels("0 3 * * *", 3, "UTC")).toEqual({ "swarm-etl.schedule": "0 3 * * *", "swarm-etl.schedule.keep": "3", "swarm-etl.role": "job-template" });
    });

    test("zones and expressions", () => {
        expect(timeZoneProblem("America/New_York")).toBeUndefined();
        expect(timeZoneProblem("")).toMatch(/is not an IANA time zone/);
        expect(scheduleProblem("*/5 * * * *", "Asia/Tokyo")).toBeUndefined();
        expect(scheduleProblem("* * *")).toMatch(/not a cron expression of five fields/);
    });

    test("the memory check's message names the node, both sizes and the fix", () => {
        expect(memoryCheckMessage("wkr1", 8 * 1024 ** 3, { bytes: 65 * 1024 ** 3, what: "a Spark worker", fix: "lower spark.workers.memory" })).toBe(
            "wkr1 has 8.0 GiB of memory, less than the 65.0 GiB that a Spark worker needs; fix: lower spark.workers.memory; no service was changed",
        );
        expect(cpuCheckMessage("wkr2", 2, { count: 4, what: "a PostgreSQL member (postgres.resources.cpus 4)", fix: "lower postgres.resources" })).toBe(
            "wkr2 has 2 CPUs, fewer than the 4 that a PostgreSQL member (postgres.resources.cpus 4) is limited to (Docker refuses a container limited to more CPUs than its node has); fix: lower postgres.resources; no service was changed",
        );
    });
});

describe("the components under mocks", () => {
    let registered: Registered[];
    const conn = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: HOST_KEY };
    const nodeConnections = Object.fromEntries(["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"].map((n) => [n, { ...conn, name: n }]));
    const secret = { secretId: "sec-1", secretName: "pg-role-etl_writer", target: "pg-role-etl_writer", uid: "10001", gid: "10001", mode: 0o400 };

    beforeAll(async () => {
        registered = installMocks();
        const spark = new SparkCluster("spark", {
            connection: conn,
            privateKey: "KEY",
            nodeConnections,
            image: LAB_IMAGES.spark,
            masterNode: "mgr3",
            workerNodes: ["wkr1", "wkr2"],
            workerLabel: "swarm-etl.spark=worker",
            workerMemory: "2g",
            executorNetworks: ["net-pg"],
            executorSecrets: [secret],
            endpointMode: "dnsrr",
        });
        const etl = new FlightsEtl("etl-flights", {
            connection: conn,
            privateKey: "KEY",
            image: LAB_IMAGES.spark,
            spark,
            warehouse: { networkId: "net-pg", endpoint: "pg-router:5432", database: "warehouse", user: "etl_writer", schema: "flights", passwordSecret: secret, passwordFile: "/run/secrets/pg-role-etl_writer" },
            runId: "r1",
            schedule: { cron: "30 2 * * *", timeZone: "Europe/Berlin" },
            pushgateway: { image: LAB_IMAGES["etl-pushgateway"], nodeConnection: { ...conn, name: "mgr3" } },
        });
        await valueOf(pulumi.output(etl.job.urn));
        for (let i = 0; i < 200 && !registered.some((r) => r.name === "etl-flights-scheduled"); i++) await new Promise((r) => setTimeout(r, 10));
    });
    const svc = (name: string) => registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === name)!.inputs as Record<string, any>;

    test("workers: one per labelled node, on the warehouse's network with the password file; memory checked on their nodes", () => {
        const w = svc("spark-worker");
        expect(w).toMatchObject({ replicas: 2, args: ["worker"], constraints: ["node.labels.swarm-etl.spark==worker"], maxReplicasPerNode: 1, networks: ["net-spark-net", "net-pg"] });
        expect(w.env).toEqual({ SPARK_DAEMON_MEMORY: "512m", SPARK_MASTER_URL: "spark://spark-master:7077", SPARK_WORKER_CORES: "1", SPARK_WORKER_MEMORY: "2g" });
        expect(w.resources).toEqual({ limits: { cpus: 1.5, memory: "3072M" } });
        expect(w.secrets).toEqual([secret]);
        const checks = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:ImageCheck");
        expect(checks.map((c) => [c.name, (c.inputs.memory as { bytes: number } | undefined)?.bytes]).sort()).toEqual([
            ["etl-flights-pushgateway-image", undefined],
            ["spark-mgr3-images", undefined],
            ["spark-wkr1-images", 3 * 1024 ** 3],
            ["spark-wkr2-images", 3 * 1024 ** 3],
        ]);
        expect(svc("spark-master")).toMatchObject({ args: ["master"], mounts: [{ type: "volume", source: "spark-master-recovery", target: "/data/recovery" }], labels: { "swarm-etl.stateful": "true", "swarm-etl.ui": "true" } });
        expect(svc("spark-master").ports).toBeUndefined();
    });

    test("the job: runs at up when runId changes, no secret in its settings; the template has the schedule and its zone", () => {
        const job = svc("etl-flights");
        expect(job).toMatchObject({ mode: "replicated-job", replicas: 1, args: ["job"], networks: ["net-spark-net", "net-pg"], mounts: [{ type: "volume", source: "spark-events", target: "/data/events" }] });
        const { ETL_ATTEMPT_MARKER: marker, ...settings } = job.env;
        expect(settings).toEqual(etlEnv({ warehouse: { endpoint: "pg-router:5432", database: "warehouse", user: "etl_writer", schema: "flights", passwordFile: "/run/secrets/pg-role-etl_writer" } as never, runId: "r1" }, "spark://spark-master:7077", "up:r1", "etl-flights-pushgateway", 2));
        // A data-quality failure's marker: per service (Swarm fills its ID in) and per settings and image.
        expect(marker).toBe(attemptMarker(settings, job.image));
        expect(marker).toMatch(/^\/data\/events\/attempts\/\{\{\.Service\.ID\}\}-[0-9a-f]{16}$/);
        expect(attemptMarker({ ...settings, ETL_TRIGGER: "up:r2" }, job.image)).not.toBe(marker);
        expect(attemptMarker(settings, `${job.image}-other`)).not.toBe(marker);
        expect(job.env.LOAD_PARTITIONS).toBe("2"); // 2 workers of 1 core: one COPY stream each
        expect(job.env.PUSHGATEWAY_URL).toBe("http://etl-flights-pushgateway:9091");
        expect(job.env.ETL_TRIGGER).toBe("up:r1");
        expect(Object.keys(job.env).filter((k) => /PASSWORD$/.test(k))).toEqual([]);
        const t = svc("etl-flights-scheduled");
        expect(t.replicas).toBe(0);
        expect(t.labels).toMatchObject({ "swarm-etl.schedule": "30 2 * * *", "swarm-etl.schedule.tz": "Europe/Berlin", "swarm-etl.schedule.keep": "3" });
        expect(t.env.ETL_TRIGGER).toBe("schedule");
        expect(t.env.LOAD_PARTITIONS).toBe("2");
        expect(t.env.ETL_ATTEMPT_MARKER).not.toBe(marker);
    });
});
