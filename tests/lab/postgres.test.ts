// PostgresCluster against the lab, through the real engine: one deploy for the file (etcd on the
// 3 managers, Patroni members on the 2 workers, the router, the reconcile job, and a client service
// on mgr1), the checks against it, then the drills that break it (destructive ones last).
// Every Swarm object here is named pgt-*. Figures (failover times) are printed, not asserted
// beyond the issue's bounds; the bench measures them (bench/postgres).
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { withSession } from "../../providers/ssh/connection";
import { Service } from "../../providers/swarm";
import { PostgresCluster } from "../../components/stacks/postgres/postgresCluster";
import { PgBackupRepository } from "../../components/stacks/postgres/backupRepository";
import { DEFAULT_DATABASES, DEFAULT_ROLES, POSTGRES_IMAGES } from "../../components/stacks/postgres/config";
import { scheduledJobLabels, Scheduler, SCHEDULER_IMAGE } from "../../components/stacks/scheduler/scheduler";
import { ensureSwarm, inlineStack, log, managerConnection, nodeConnections, requiredEnv, secretKey } from "./harness";
import { labConfig, REPO, targets } from "./labConfig";
import { labShell } from "./labShell";
import { b64, nodeShell, recordedImage, until } from "./nodeShell";

const cfg = labConfig();
const hosts = targets(cfg);
const NAME = "pgt";
const MEMBERS = ["wkr1", "wkr2"];
const imageNamed = (name: string) => recordedImage(cfg, name);
const image = (k: keyof typeof POSTGRES_IMAGES) => imageNamed(POSTGRES_IMAGES[k]);
/** The backup repository (on mgr1, no member there) and the clusters restored from it. */
const REPO_NAME = `${NAME}-backup`;
const SCHEDULER = `${NAME}-scheduler`;
/** Restored clusters: the latest state (pgr, on wkr1) and the restore point "mark" (pgp, on wkr2). */
const RESTORED = { pgr: { node: "wkr1", dcs: "mgr2" }, pgp: { node: "wkr2", dcs: "mgr3" } } as const;
/** Secrets the client mounts, by what they are. */
/** The default roles, with their grants on `public` too: the drills' tables live there. */
const ROLES = DEFAULT_ROLES.map((r) => ({ ...r, grants: r.grants.map((g) => ({ ...g, schemas: ["public", ...(g.schemas ?? [])] })) }));
const CLIENT_SECRETS = ["superuser", "replication", "rewind", "restapi", "role-etl_writer", "role-analyst", "role-warehouse", "role-keycloak"];

let primary: string | undefined;
/** Replaces the router's image (the unpullable-image test). */
let routerImage: string | undefined;
/** Deploys the restored clusters (the restore test). */
let restoring = false;
let stack: Stack;

const sh = nodeShell(cfg);
const CLIENT = `$(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-client | head -n1)`;

/** Runs a Python script in the client container (psycopg2 and the secrets are there). */
async function py(script: string, args: string[] = [], timeoutMs = 120_000): Promise<string> {
    return sh(`echo ${b64(script)} | base64 -d | docker exec -i ${CLIENT} python3 - ${args.join(" ")}`, "mgr1", timeoutMs);
}

/** Runs SQL through the router as `user` (its password from its Swarm secret). */
async function psql(sql: string, o: { user?: string; db?: string; port?: number; cluster?: string } = {}): Promise<string> {
    const user = o.user ?? "postgres";
    const c = o.cluster ?? NAME;
    const secret = user === "postgres" ? `${c}-superuser` : `${c}-role-${user}`;
    const cmd = `PGPASSWORD="$(cat /run/secrets/${secret})" psql -h ${c}-router -p ${o.port ?? 5432} -U ${user} -d ${o.db ?? "warehouse"} -v ON_ERROR_STOP=1 -Atq -f -`;
    return sh(`echo ${b64(sql)} | base64 -d | docker exec -i ${CLIENT} sh -c '${cmd}'`);
}

/** Patroni's view of the cluster (GET /cluster of the first member that answers): role and state by member. */
const CLUSTER_SCRIPT = `
import json, sys, urllib.request
for m in sys.argv[1:]:
    try:
        with urllib.request.urlopen(f"http://{m}:8008/cluster", timeout=2) as r:
            d = json.load(r)
            print(json.dumps({x["name"]: {"role": x.get("role"), "state": x.get("state")} for x in d.get("members", [])}))
            break
    except Exception as e:
        err = str(e)[:100]
else:
    print(json.dumps({"error": {"role": None, "state": err}}))
`;
interface MemberView {
    role: string | null;
    state: string;
}
async function cluster(): Promise<Record<string, MemberView>> {
    return JSON.parse(await py(CLUSTER_SCRIPT, MEMBERS.map((m) => `${NAME}-${m}`)));
}
const member = (node: string) => `${NAME}-${node}`;
async function leaderNode(): Promise<string | undefined> {
    const c = await cluster();
    const m = Object.entries(c).find(([, v]) => v.role === "leader" && v.state === "running");
    return m ? m[0].slice(NAME.length + 1) : undefined;
}
/**
 * Polls until every member runs: one leader, every other a synchronous standby that streams
 * (a standby not yet synchronous could not take over). Returns the leader's node.
 */
async function healthy(timeoutMs: number): Promise<{ leader: string; seconds: number }> {
    const t0 = Date.now();
    let last = "";
    while (Date.now() - t0 < timeoutMs) {
        const c = await cluster().catch((e: Error) => ({ error: { role: null, state: e.message } }) as Record<string, MemberView>);
        last = JSON.stringify(c);
        const leaders = MEMBERS.filter((m) => c[member(m)]?.role === "leader" && c[member(m)]?.state === "running");
        const standbys = MEMBERS.filter((m) => c[member(m)]?.role === "sync_standby" && ["running", "streaming"].includes(c[member(m)]?.state));
        if (leaders.length === 1 && standbys.length === MEMBERS.length - 1) return { leader: leaders[0], seconds: (Date.now() - t0) / 1000 };
        await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`the cluster did not become healthy (a leader, every other member a streaming synchronous standby) within ${timeoutMs / 1000} s: ${last}`);
}

/** A client that writes in a loop through the router and records every acknowledged commit. */
const WRITER_SCRIPT = `
import json, sys, time
import psycopg2
run, seconds = sys.argv[1], float(sys.argv[2])
pw = open("/run/secrets/${NAME}-role-etl_writer").read().strip()
acked, errors, conn, i, t0 = [], [], None, 0, time.time()
while time.time() - t0 < seconds:
    t = time.time() - t0
    try:
        if conn is None:
            conn = psycopg2.connect(host="${NAME}-router", port=5432, dbname="warehouse", user="etl_writer", password=pw, connect_timeout=2, options="-c statement_timeout=3000",
                                    # A server that vanished mid-statement (its node's network gone) must not hang the loop.
                                    keepalives=1, keepalives_idle=2, keepalives_interval=1, keepalives_count=2, tcp_user_timeout=3000)
            conn.autocommit = True
        with conn.cursor() as c:
            c.execute("INSERT INTO drill (run, i) VALUES (%s, %s)", (run, i))
        acked.append([i, round(t, 2)])
    except Exception as e:
        errors.append([i, round(t, 2), str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__])
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        time.sleep(0.2)
    i += 1
    time.sleep(0.05)
print(json.dumps({"acked": acked, "errors": errors}))
`;
interface WriterResult {
    acked: [number, number][];
    errors: [number, number, string][];
}
function writer(run: string, seconds: number): Promise<WriterResult> {
    return py(WRITER_SCRIPT, [run, String(seconds)], (seconds + 60) * 1000).then((out) => JSON.parse(out) as WriterResult);
}
/** The window of failed writes: from the first failure to the first acknowledged write after it. */
function window(r: WriterResult): { firstError: number; recovered: number; seconds: number } | undefined {
    if (r.errors.length === 0) return undefined;
    const firstError = r.errors[0][1];
    const after = r.acked.find(([, t]) => t > firstError);
    return { firstError, recovered: after ? after[1] : Infinity, seconds: (after ? after[1] : Infinity) - firstError };
}
async function missingAcked(run: string, r: WriterResult): Promise<number[]> {
    // Read as a client would while a member is half gone: a connection the router cuts (it marks
    // a member down and shuts its sessions) is retried; what was read is never retried away.
    let rows = "";
    for (let attempt = 1; ; attempt++) {
        try {
            rows = await psql(`SELECT i FROM drill WHERE run = '${run}'`);
            break;
        } catch (err) {
            if (attempt >= 10 || !/server closed the connection|could not connect|Connection refused|timeout expired/i.test((err as Error).message)) throw err;
            await new Promise((res) => setTimeout(res, 2000));
        }
    }
    const present = new Set(rows.split("\n").filter(Boolean).map(Number));
    return r.acked.map(([i]) => i).filter((i) => !present.has(i));
}


/** Runs a scheduled template now, through the scheduler, and waits for it (its logs and result). */
async function schedulerRun(template: string): Promise<string> {
    const node = await sh(`docker service ps ${SCHEDULER} --filter desired-state=running --format '{{.Node}}'`);
    const r = await withSession(hosts.get(node)!, (s) => s.exec(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${SCHEDULER} | head -n1) swarm-etl-scheduler run ${template} --wait`, 900_000));
    if (r.code !== 0) throw new Error(`swarm-etl-scheduler run ${template} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** A command in the repository's container (on mgr1). */
const repoExec = (command: string) => sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${REPO_NAME} | head -n1) ${command}`);

/** Row count and an md5 of every row, by table of the warehouse's public schema. */
async function checksums(c: string): Promise<Record<string, string>> {
    const tables = (await psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", { cluster: c })).split("\n").filter(Boolean);
    const out: Record<string, string> = {};
    for (const t of tables) out[t] = await psql(`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM ${t} x`, { cluster: c });
    return out;
}

async function program() {
    const conn = { connection: managerConnection(), privateKey: secretKey() };
    const nodes = nodeConnections();
    const scheduler = new Scheduler(SCHEDULER, { ...conn, image: imageNamed(SCHEDULER_IMAGE), tickSeconds: 5 });
    const repository = new PgBackupRepository(REPO_NAME, {
        ...conn,
        nodeConnection: nodes.mgr1,
        node: "mgr1",
        image: image("postgres"),
        stanzas: { [NAME]: MEMBERS.map(member), ...Object.fromEntries(Object.entries(RESTORED).map(([c, r]) => [c, [`${c}-${r.node}`]])) },
        retention: { full: 2, diff: 3 },
        endpointMode: "dnsrr",
        encrypted: false,
    });
    // A template the scheduler runs every minute (the schedule test).
    new Service(`${NAME}-tick`, {
        ...conn,
        name: `${NAME}-tick`,
        image: image("postgres"),
        command: ["sh", "-c", "echo tick at $(date -u +%H:%M:%S)"],
        replicas: 0,
        endpointMode: "dnsrr",
        restartPolicy: { condition: "none" },
        labels: { "swarm-etl.stack": `${NAME}-tick`, ...scheduledJobLabels("* * * * *", 2) },
    });
    const restored = restoring
        ? Object.entries(RESTORED).map(
              ([c, r]) =>
                  new PostgresCluster(c, {
                      ...conn,
                      nodeConnections: nodes,
                      images: { postgres: image("postgres"), etcd: image("etcd"), router: image("router") },
                      members: [r.node],
                      dcs: [r.dcs],
                      synchronous: false,
                      databases: DEFAULT_DATABASES,
                      roles: ROLES,
                      routerReplicas: 1,
                      endpointMode: "dnsrr",
                      encrypted: false,
                      backup: { repository },
                      restore: { stanza: NAME, ...(c === "pgp" ? { target: { name: "mark" } } : {}) },
                  }),
          )
        : [];
    const pg = new PostgresCluster(NAME, {
        ...conn,
        nodeConnections: nodes,
        images: { postgres: image("postgres"), etcd: image("etcd"), router: routerImage ?? image("router") },
        members: MEMBERS,
        dcs: ["mgr1", "mgr2", "mgr3"],
        synchronous: true,
        databases: DEFAULT_DATABASES,
        roles: ROLES,
        primary,
        endpointMode: "dnsrr",
        encrypted: false,
        // Schedules that do not fire during a run of the suite: the tests start the backups themselves.
        backup: { repository, keepRuns: 2, schedules: { full: "0 0 1 1 *", diff: "0 0 2 1 *" } },
    }, { dependsOn: [scheduler] });
    new Service(
        `${NAME}-client`,
        {
            ...conn,
            name: `${NAME}-client`,
            image: image("postgres"),
            command: ["sleep", "infinity"],
            networks: [pg.network.networkId, ...restored.map((r) => r.network.networkId)],
            endpointMode: "dnsrr",
            constraints: ["node.hostname==mgr1"],
            stopGracePeriod: "1s",
            secrets: [
                ...CLIENT_SECRETS.map((w) => ({ secretId: pg.secrets[w].secretId, secretName: pg.secrets[w].secretName, target: `${NAME}-${w}`, uid: "999", gid: "999", mode: 0o400 })),
                ...restored.map((r, i) => ({ secretId: r.secrets.superuser.secretId, secretName: r.secrets.superuser.secretName, target: `${Object.keys(RESTORED)[i]}-superuser`, uid: "999", gid: "999", mode: 0o400 })),
            ],
        },
        { dependsOn: [pg, ...restored] },
    );
    return { primaryEndpoint: pg.primaryEndpoint, replicaEndpoint: pg.replicaEndpoint, secretNames: pg.secretNames };
}

const figures: string[] = [];

beforeAll(async () => {
    await ensureSwarm();
    stack = await inlineStack(NAME, program);
    await stack.destroy({ onOutput: log("pgt-destroy-before") });
});

afterAll(async () => {
    for (const h of MEMBERS) await labShell(`bash ${REPO}/lab/lab.sh dockerd ${h} start`).catch(() => undefined);
    if (figures.length) console.log(`PostgreSQL drills:\n  ${figures.join("\n  ")}`);
    await stack?.destroy({ onOutput: log("pgt-destroy") });
});

describe("PostgresCluster on the lab: Patroni members on the workers, etcd on the managers, one router", () => {
    test("deploys a primary and a synchronous standby, each pinned to its worker with its own volume", async () => {
        const t0 = Date.now();
        const res = await stack.up({ onOutput: log("pgt-up") });
        expect(res.summary.result).toBe("succeeded");
        figures.push(`deploy from nothing: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        expect(res.outputs.primaryEndpoint.value).toBe("pgt-router:5432");
        const { leader } = await healthy(60_000);
        expect(MEMBERS).toContain(leader);
        const other = MEMBERS.find((m) => m !== leader)!;
        expect((await cluster())[member(other)].role).toBe("sync_standby");
        // Each member runs on its own node, with its volume there.
        for (const m of MEMBERS) {
            expect(await sh(`docker service ps ${NAME}-${m} --filter desired-state=running --format '{{.Node}}'`)).toBe(m);
            expect(await sh(`docker volume ls -q -f name=${NAME}-${m}-data`, m)).toBe(`${NAME}-${m}-data`);
        }
        for (const m of ["mgr1", "mgr2", "mgr3"]) expect(await sh(`docker service ps ${NAME}-etcd-${m} --filter desired-state=running --format '{{.Node}}'`)).toBe(m);
        // Every image is pinned by digest.
        const images = (await sh(`docker service ls --filter label=swarm-etl.stack=${NAME} --format '{{.Image}}'`)).split("\n");
        expect(images.length).toBe(3 + 2 + 2 + 1 + 2); // etcd, members, router, reconcile, the first backup, the backup templates
        for (const i of images) expect(i).toMatch(/@sha256:[0-9a-f]{64}$/);
    });

    test("writes through the router reach the primary; the replicas' endpoint (:5433) serves them from a standby", async () => {
        await psql("CREATE TABLE IF NOT EXISTS drill (run text NOT NULL, i int NOT NULL, at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, i))", { user: "etl_writer" });
        await psql("INSERT INTO drill (run, i) SELECT 'basic', g FROM generate_series(1, 100) g", { user: "etl_writer" });
        expect(await psql("SELECT pg_is_in_recovery()", { user: "etl_writer" })).toBe("f");
        expect(await psql("SELECT pg_is_in_recovery()", { user: "analyst", port: 5433 })).toBe("t");
        // Synchronous replication: the commit is on the standby when it is acknowledged (applied within moments).
        let seen = "";
        for (let i = 0; i < 20 && seen !== "100"; i++) {
            seen = await psql("SELECT count(*) FROM drill WHERE run = 'basic'", { user: "analyst", port: 5433 });
            if (seen !== "100") await new Promise((r) => setTimeout(r, 250));
        }
        expect(seen).toBe("100");
    });

    test("least privilege: the analyst reads but cannot write; the ETL writer cannot reach keycloak's database or make roles", async () => {
        await expect(psql("INSERT INTO drill (run, i) VALUES ('analyst', 1)", { user: "analyst" })).rejects.toThrow(/permission denied for table drill/);
        expect(await psql("SELECT count(*) FROM drill WHERE run = 'basic'", { user: "analyst" })).toBe("100");
        await expect(psql("SELECT 1", { user: "etl_writer", db: "keycloak" })).rejects.toThrow(/permission denied for database "?keycloak"?|User does not have CONNECT privilege/);
        await expect(psql("CREATE ROLE intruder", { user: "etl_writer" })).rejects.toThrow(/permission denied to create role/);
        expect(await psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('warehouse', 'keycloak') ORDER BY 1")).toBe("keycloak:keycloak\nwarehouse:warehouse");
        expect(await psql("SELECT rolsuper::text || rolcreaterole::text || rolcreatedb::text FROM pg_roles WHERE rolname = 'etl_writer'")).toBe("falsefalsefalse");
    });

    test("no password (and not the backup repository's TLS key) is in the state, a service spec or a log", async () => {
        const passwords = await Promise.all(CLIENT_SECRETS.map((w) => sh(`docker exec ${CLIENT} cat /run/secrets/${NAME}-${w}`)));
        for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const backend = requiredEnv("PULUMI_BACKEND_URL").replace(/^file:\/\//, "");
        const state = fs.readFileSync(path.join(backend, ".pulumi/stacks/swarm-etl-tests", `${NAME}.json`), "utf8");
        expect(state).toContain(`${NAME}-superuser`); // the right file
        const specs = await sh(`docker service inspect $(docker service ls -q --filter label=swarm-etl.stack=${NAME}) ${NAME}-client ${REPO_NAME} ${SCHEDULER}`);
        const logs = await sh(`for s in $(docker service ls -q --filter label=swarm-etl.stack=${NAME}) ${REPO_NAME} ${SCHEDULER}; do docker service logs --raw $s 2>&1; done`);
        expect(logs.length).toBeGreaterThan(0);
        const dbLog = await sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-wkr1) sh -c 'cat /var/lib/postgresql/data/pgdata/log/* 2>/dev/null || true'`, "wkr1");
        // The backup repository's TLS key, line by line (64 base64 characters each).
        const pem = await repoExec(`cat /run/secrets/${REPO_NAME}-tls`);
        const keyLines = pem.split("-----BEGIN PRIVATE KEY-----")[1].split("-----END PRIVATE KEY-----")[0].split("\n").filter((l) => l.length === 64);
        expect(keyLines.length).toBeGreaterThan(10);
        for (const p of [...passwords, ...keyLines]) {
            expect(state.includes(p)).toBe(false);
            expect(specs.includes(p)).toBe(false);
            expect(logs.includes(p)).toBe(false);
            expect(dbLog.includes(p)).toBe(false);
        }
    });

    test("the scheduler runs a template on its cron schedule as a Swarm job; the template stays as Pulumi made it", async () => {
        const t0 = Date.now();
        let runs: string[] = [];
        let logs = "";
        while (Date.now() - t0 < 150_000) {
            runs = (await sh(`docker service ls --filter label=swarm-etl.run-of=${NAME}-tick --format '{{.Name}}'`)).split("\n").filter(Boolean);
            logs = runs.length ? await sh(`for s in ${runs.join(" ")}; do docker service logs --raw $s 2>&1; done`) : "";
            if (/tick at \d\d:\d\d:\d\d/.test(logs)) break;
            await new Promise((r) => setTimeout(r, 5000));
        }
        expect(logs).toMatch(/tick at \d\d:\d\d:\d\d/);
        for (const r of runs) expect(r).toMatch(new RegExp(`^${NAME}-tick-\\d{8}t\\d{6}$`));
        expect(await sh(`docker service inspect ${runs[0]} --format '{{json .Spec.Mode}}'`)).toContain("ReplicatedJob");
        expect(await sh(`docker service inspect ${NAME}-tick --format '{{.Spec.Mode.Replicated.Replicas}}'`)).toBe("0");
        figures.push(`scheduler: first run of a * * * * * template ${((Date.now() - t0) / 1000).toFixed(0)} s after the check began`);
        const preview = await stack.preview({ refresh: true, onOutput: log("pgt-scheduler-preview") });
        expect(preview.changeSummary.update ?? 0).toBe(0);
    });

    test("backups: WAL is archived and the first full backup is taken at deploy; a full backup on demand passes check and verify, in a repository on a node without a member", async () => {
        expect(await sh(`docker service logs --raw ${NAME}-backup-init 2>&1`)).toMatch(/check \(WAL archiving end to end\)[\s\S]*done/);
        expect(await sh(`docker service ps ${REPO_NAME} --filter desired-state=running --format '{{.Node}}'`)).toBe("mgr1");
        await psql("CREATE TABLE bk (id int PRIMARY KEY, batch text NOT NULL, payload text NOT NULL)", { user: "etl_writer" });
        await psql("INSERT INTO bk SELECT g, 'A', md5(g::text) FROM generate_series(1, 1000) g", { user: "etl_writer" });
        const t0 = Date.now();
        const out = await schedulerRun(`${NAME}-backup-full`);
        figures.push(`full backup on demand (scheduler run, check and verify included): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        expect(out).toMatch(/: complete$/m);
        expect(out).toMatch(/full backup: \d{8}-\d{6}F/);
        const info = JSON.parse(await repoExec(`pgbackrest --stanza=${NAME} info --output=json`)) as { backup: { type: string }[]; status: { code: number } }[];
        expect(info[0].status.code).toBe(0);
        expect(info[0].backup.filter((b) => b.type === "full").length).toBeGreaterThanOrEqual(2);
    });

    test("restore: a new cluster from the latest backup has identical row counts and checksums; PITR to a restore point has the rows before it and none after", async () => {
        await psql("INSERT INTO bk SELECT g, 'B', md5(g::text) FROM generate_series(1001, 2000) g", { user: "etl_writer" });
        await psql("SELECT pg_create_restore_point('mark')");
        await psql("INSERT INTO bk SELECT g, 'C', md5(g::text) FROM generate_series(2001, 3000) g", { user: "etl_writer" });
        const segment = await psql("SELECT pg_walfile_name(pg_switch_wal())");
        await until(async () => (await psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) >= segment, 120_000, `WAL ${segment} archived`);
        const source = await checksums(NAME);
        expect(source.bk).toMatch(/^3000:/);
        restoring = true;
        const t0 = Date.now();
        const up = await stack.up({ onOutput: log("pgt-restore") });
        expect(up.summary.result).toBe("succeeded");
        figures.push(`restore into two new clusters (latest; restore point), each with its first own backup: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        expect(await checksums("pgr")).toEqual(source);
        expect(await psql("SELECT count(*) || ' ' || max(id) || ' ' || string_agg(DISTINCT batch, '' ORDER BY batch) FROM bk", { cluster: "pgp" })).toBe("2000 2000 AB");
        // The restored clusters archive into stanzas of their own, and took their first backup.
        for (const c of Object.keys(RESTORED)) {
            const i = JSON.parse(await repoExec(`pgbackrest --stanza=${c} info --output=json`)) as { backup: unknown[]; status: { code: number } }[];
            expect(i[0].status.code).toBe(0);
            expect(i[0].backup.length).toBe(1);
        }
        const diff = await schedulerRun(`${NAME}-backup-diff`);
        expect(diff).toMatch(/diff backup: \d{8}-\d{6}F_\d{8}-\d{6}D/);
        expect(diff).toMatch(/: complete$/m);
        restoring = false;
        const down = await stack.up({ onOutput: log("pgt-restore-down") });
        expect(down.summary.result).toBe("succeeded");
        expect(await sh(`docker service ls -q --filter label=swarm-etl.stack=pgr`)).toBe("");
    });

    test("drift: a member changed by hand and the router removed by hand are seen by refresh and repaired by up; the data stays", async () => {
        const leader = (await healthy(60_000)).leader;
        const replica = MEMBERS.find((m) => m !== leader)!;
        await sh(`docker service update -d --env-add HAND_MADE=1 ${NAME}-${replica}`);
        await sh(`docker service rm ${NAME}-router`);
        const preview = await stack.preview({ refresh: true, onOutput: log("pgt-drift-preview") });
        expect(preview.changeSummary.update).toBeGreaterThanOrEqual(1);
        expect(preview.changeSummary.create).toBe(1);
        const up = await stack.up({ refresh: true, onOutput: log("pgt-drift-up") });
        expect(up.summary.result).toBe("succeeded");
        expect(await sh(`docker service inspect ${NAME}-${replica} --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}'`)).not.toContain("HAND_MADE");
        await healthy(90_000);
        expect(await psql("SELECT count(*) FROM drill WHERE run = 'basic'")).toBe("100");
    });

    test("an image the nodes cannot pull stops pulumi up before any service changes, naming the image, the node and the daemon's error", async () => {
        const before = await sh(`docker service inspect ${NAME}-router --format '{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}'`);
        routerImage = image("router").replace(/@sha256:[0-9a-f]{64}$/, "@sha256:" + "0".repeat(64));
        try {
            const err = await stack.up({ onOutput: log("pgt-bad-image") }).then(
                () => undefined,
                (e: Error) => e.message,
            );
            expect(err).toMatch(new RegExp(`image ${routerImage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} cannot be pulled on (mgr|wkr)\\d: [^;]*(manifest unknown|not found)`, "i"));
            expect(err).toContain("no service was changed");
        } finally {
            routerImage = undefined;
        }
        expect(await sh(`docker service inspect ${NAME}-router --format '{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}'`)).toBe(before);
        const up = await stack.up({ onOutput: log("pgt-good-image") });
        expect(up.summary.result).toBe("succeeded");
    });

    test("switchover from config (postgres.primary): the other member leads, no commit is lost", async () => {
        const before = (await healthy(60_000)).leader;
        primary = MEMBERS.find((m) => m !== before)!;
        const t0 = Date.now();
        const up = await stack.up({ onOutput: log("pgt-switchover") });
        expect(up.summary.result).toBe("succeeded");
        const { leader } = await healthy(60_000);
        expect(leader).toBe(primary);
        figures.push(`switchover ${before} -> ${primary} through pulumi up: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        expect(await psql("SELECT count(*) FROM drill WHERE run = 'basic'")).toBe("100");
        await psql("INSERT INTO drill (run, i) VALUES ('switchover', 1)", { user: "etl_writer" });
    });

    test("failover drill 1: the primary's container is killed; writes go on within 30 s; every acknowledged commit is there", async () => {
        const leader = (await healthy(60_000)).leader;
        const run = "kill-container";
        const writes = writer(run, 45);
        await new Promise((r) => setTimeout(r, 5000));
        const killedAt = Date.now();
        await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-${leader})`, leader);
        const r = await writes;
        const w = window(r);
        figures.push(`kill the primary's container (${leader}): ${w ? `writes failed for ${w.seconds.toFixed(1)} s` : "no write failed"} (${r.acked.length} acknowledged, ${r.errors.length} failed)`);
        expect(r.acked.length).toBeGreaterThan(50);
        if (w) expect(w.seconds).toBeLessThanOrEqual(30);
        expect(await missingAcked(run, r)).toEqual([]);
        const back = await healthy(60_000);
        figures.push(`  both members running again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; primary: ${back.leader}`);
    });

    test("failover drill 2: the primary's Docker daemon dies (its containers live on): the member fences itself, writes go on within 30 s; every acknowledged commit is there", async () => {
        const leader = (await healthy(60_000)).leader;
        const run = "kill-dockerd";
        const container = await sh(`docker ps -q --no-trunc -f label=com.docker.swarm.service.name=${NAME}-${leader}`, leader);
        const writes = writer(run, 60);
        await new Promise((r) => setTimeout(r, 5000));
        const killedAt = Date.now();
        await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} kill`);
        const r = await writes;
        const w = window(r);
        figures.push(`kill the primary's dockerd and containerd (${leader}; PostgreSQL lives on): ${w ? `writes failed for ${w.seconds.toFixed(1)} s` : "no write failed"} (${r.acked.length} acknowledged, ${r.errors.length} failed)`);
        if (w) expect(w.seconds).toBeLessThanOrEqual(30);
        expect(r.acked.filter(([, t]) => t > 10).length).toBeGreaterThan(100);
        expect(await missingAcked(run, r)).toEqual([]);
        const restartedAt = Date.now();
        await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} start`);
        // The old primary stopped by itself (swarm-etl-pg-fence), not when its daemon came back.
        const [status, finishedAt] = (await sh(`docker inspect ${container} --format '{{.State.Status}} {{.State.FinishedAt}}'`, leader)).split(" ");
        expect(status).toBe("exited");
        const fencedAfter = (Date.parse(finishedAt) - killedAt) / 1000;
        figures.push(`  the old primary fenced itself ${fencedAfter.toFixed(1)} s after its daemon died`);
        expect(fencedAfter).toBeGreaterThan(0);
        expect(fencedAfter).toBeLessThan(20);
        const back = await healthy(90_000);
        figures.push(`  healthy again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its dockerd started; primary: ${back.leader}`);
        expect(back.leader).not.toBe(leader);
        expect(await missingAcked(run, r)).toEqual([]);
    });

    test("failover drill 3: the primary's node crashes (daemon and containers); the standby takes over within 30 s; every acknowledged commit is there; the old primary returns as a replica within 60 s", async () => {
        const leader = (await healthy(60_000)).leader;
        const standby = MEMBERS.find((m) => m !== leader)!;
        const run = "crash-node";
        const writes = writer(run, 45);
        await new Promise((r) => setTimeout(r, 5000));
        await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} crash`);
        const r = await writes;
        const w = window(r);
        figures.push(`crash the primary's node (${leader}): ${w ? `writes failed for ${w.seconds.toFixed(1)} s` : "no write failed"} (${r.acked.length} acknowledged, ${r.errors.length} failed)`);
        expect(w).toBeDefined();
        expect(w!.seconds).toBeLessThanOrEqual(30);
        expect(await leaderNode()).toBe(standby);
        expect(await missingAcked(run, r)).toEqual([]);
        const restartedAt = Date.now();
        await labShell(`bash ${REPO}/lab/lab.sh dockerd ${leader} start`);
        const back = await healthy(60_000);
        expect(back.leader).toBe(standby);
        expect((await cluster())[member(leader)].role).toBe("sync_standby");
        figures.push(`  the old primary ${leader} is a synchronous standby again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its node came back`);
        expect(await missingAcked(run, r)).toEqual([]);
    });

    test("a replica whose volume is wiped is rebuilt from the primary by itself", async () => {
        const leader = (await healthy(60_000)).leader;
        const replica = MEMBERS.find((m) => m !== leader)!;
        const ids = `docker ps -q --no-trunc -f label=com.docker.swarm.service.name=${NAME}-${replica}`;
        const before = await sh(ids, replica);
        await sh(`docker exec ${before} sh -c 'rm -rf /var/lib/postgresql/data/pgdata'; docker kill ${before}`, replica);
        const t0 = Date.now();
        // Swarm starts a new task there; Patroni finds no data and clones the primary.
        for (let i = 0; i < 60; i++) {
            const now = await sh(ids, replica).catch(() => "");
            if (now && now !== before) break;
            await new Promise((r) => setTimeout(r, 1000));
        }
        await healthy(120_000).catch(async (e: Error) => {
            const tail = await sh(`docker logs --tail 40 $(${ids}) 2>&1`, replica).catch((x: Error) => x.message);
            throw new Error(`${e.message}\nthe rebuilt member's last log lines:\n${tail}`);
        });
        figures.push(`replica ${replica} rebuilt after its data was wiped: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const logs = await sh(`docker logs $(${ids}) 2>&1 | grep -c 'replica has been created using basebackup' || true`, replica);
        expect(Number(logs)).toBeGreaterThanOrEqual(1);
        let count = "";
        for (let i = 0; i < 20 && count !== "100"; i++) {
            count = await psql("SELECT count(*) FROM drill WHERE run = 'basic'", { user: "analyst", port: 5433 }).catch(() => "");
            if (count !== "100") await new Promise((r) => setTimeout(r, 500));
        }
        expect(count).toBe("100");
    });
});
