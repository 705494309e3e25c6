// The platform the lab suite deploys once (tests/lab/platform.test.ts): the data tier (etcd on the
// 3 managers, Patroni members on the 2 workers, the router, the reconcile job, backups into a
// repository on mgr1, the scheduler), Spark (master on mgr3, a worker on each worker node, the
// history server), the flights ETL job that `pulumi up` runs, Keycloak with the platform realm as
// code and the edge in front of its UIs (tests/lab/identity/stack.ts), metrics, alerts, logs and traces, and a
// client service on mgr1 that holds psql and the secrets. Every Swarm object here is named pgt-*. What the next `up` deploys
// is in `platform` (the tests change it); the helpers below are what the checks and drills share.
import { randomBytes } from "crypto";
import { Stack } from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import { withSession } from "../../../providers/ssh/connection";
import { Service } from "../../../providers/swarm";
import { PostgresCluster } from "../../../components/stacks/postgres/postgresCluster";
import { PgBackupRepository } from "../../../components/stacks/postgres/backupRepository";
import { DEFAULT_DATABASES, DEFAULT_ROLES, POSTGRES_IMAGES } from "../../../components/stacks/postgres/config";
import { roleSecret, SECRETS_DIR } from "../../../components/stacks/postgres/render";
import { scheduledJobLabels, Scheduler, SCHEDULER_IMAGE } from "../../../components/stacks/scheduler/scheduler";
import { SPARK_IMAGE } from "../../../components/stacks/spark/config";
import { SparkCluster } from "../../../components/stacks/spark/sparkCluster";
import { etlPasswordRef, FlightsEtl } from "../../../components/stacks/etl/flightsEtl";
import { PUSHGATEWAY_IMAGE } from "../../../components/stacks/etl/config";
import { Observability, OBSERVABILITY_IMAGES, type ObservabilityArgs } from "../../../components/stacks/observability/observability";
import { Logs, LOGS_IMAGES } from "../../../components/stacks/logs/logs";
import { Traces, TRACES_IMAGE, tracesStoreName } from "../../../components/stacks/traces/traces";
import { managerConnection, nodeConnections, secretKey } from "../harness";
import { labConfig, targets } from "../labConfig";
import { b64, nodeShell, recordedImage } from "../nodeShell";
import { identityTier, makeUsers } from "../identity/stack";

export const cfg = labConfig();
const hosts = targets(cfg);
export const NAME = "pgt";
export const MEMBERS = ["wkr1", "wkr2"];
export const imageNamed = (name: string) => recordedImage(cfg, name);
export const image = (k: keyof typeof POSTGRES_IMAGES) => imageNamed(POSTGRES_IMAGES[k]);
/** The backup repository (on mgr1, no member there) and the clusters restored from it. */
export const REPO_NAME = `${NAME}-backup`;
export const SCHEDULER = `${NAME}-scheduler`;
/** Restored clusters: the latest state (pgr, on wkr1) and the restore point "mark" (pgp, on wkr2). */
export const RESTORED = { pgr: { node: "wkr1", dcs: "mgr2" }, pgp: { node: "wkr2", dcs: "mgr3" } } as const;
/** The default roles, with their grants on `public` too: the drills' tables live there. */
const ROLES = DEFAULT_ROLES.map((r) => ({ ...r, grants: r.grants.map((g) => ({ ...g, schemas: ["public", ...(g.schemas ?? [])] })) }));
/** Secrets the client mounts, by what they are. */
export const CLIENT_SECRETS = ["superuser", "replication", "rewind", "restapi", "role-etl_writer", "role-analyst", "role-warehouse", "role-keycloak"];
/** Spark: its master's node and the workers' (the members' nodes: the label swarm-etl.spark=worker). */
export const SPARK = `${NAME}-spark`;
export const SPARK_MASTER_NODE = "mgr3";
export const SPARK_WORKERS = ["wkr1", "wkr2"];
export const ETL = `${NAME}-flights`;
/** Observability: Prometheus, Alertmanager and the swarm exporter on mgr2; the webhook's sink. */
export const OBS = `${NAME}-obs`;
export const OBS_NODE = "mgr2";
export const ALERT_SINK = `${NAME}-alert-sink`;
/** Logs: the collector on every node, VictoriaLogs (the lab's store) on mgr3. */
export const LOGS = `${NAME}-logs`;
export const LOGS_NODE = "mgr3";
/** Traces: Jaeger beside VictoriaLogs on mgr3, fed by the same collectors. */
export const TRACES = `${NAME}-traces`;
/** Who may open the traces' and the logs' UIs through the edge. */
export const OBSERVABILITY_UI_ROLES = ["platform-admin", "data-engineer"];
/** The chat webhook's secret path (its token, as in a Slack or Mattermost URL): the receiver's URL is a Swarm secret. */
export const CHAT_TOKEN = randomBytes(9).toString("hex");
/**
 * The receivers' sink: every notification Alertmanager posts to its webhook, one line of JSON on
 * stdout (ALERT); what it posts to the chat's webhook in Slack's format (CHAT: the path, with its
 * token, and the attachments' titles); and the mail it sends (MAIL: sender, recipients, subject),
 * on an SMTP port (Python 3.11's smtpd, in a thread).
 */
const ALERT_SINK_SCRIPT = `
import asyncore, email, http.server, json, smtpd, sys, threading, time
class M(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        msg = email.message_from_bytes(data if isinstance(data, bytes) else data.encode())
        print("MAIL " + json.dumps({"from": mailfrom, "to": rcpttos, "subject": str(msg["Subject"]), "receivedAt": time.time()}), flush=True)
M(("0.0.0.0", 1025), None, decode_data=False)
threading.Thread(target=asyncore.loop, daemon=True).start()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.path.startswith("/chat/"):
            print("CHAT " + json.dumps({"path": self.path, "titles": [a.get("title", "") for a in body.get("attachments", [])], "receivedAt": time.time()}), flush=True)
        for a in body.get("alerts", []):
            print("ALERT " + json.dumps({"status": a["status"], "labels": a["labels"], "startsAt": a["startsAt"], "receivedAt": time.time()}), flush=True)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("", 8080), H).serve_forever()
`;

/** Identity and the edge: Keycloak's two replicas (as in prod), one per node; one user per role, and one the brute-force check locks out. */
export const KC = `${NAME}-keycloak`;
export const KC_NODES = ["mgr2", "mgr3"];
export const USERS = makeUsers();
export const LOCKED = "u-locked";
export const LOCKED_PASSWORD = randomBytes(12).toString("base64url");

/** What the next `up` deploys: the tests change it, then `up` again. */
export const platform: {
    stack?: Stack;
    primary?: string;
    /** Replaces the router's image (the unpullable-image test). */
    routerImage?: string;
    /** Deploys the restored clusters (the restore test). */
    restoring: boolean;
    runId: string;
    schedule?: { cron: string; timeZone: string };
    workerMemory: string;
    /** The ETL's data-quality thresholds (the alert drill tightens one). */
    dq?: { maxQuarantineRate?: number; maxUnknownRate?: number };
} = { restoring: false, runId: "1", workerMemory: "1g" };

/** The stack, once platform.test.ts made it. */
export function stack(): Stack {
    if (!platform.stack) throw new Error("the platform's stack is not made yet: these checks run inside tests/lab/platform.test.ts");
    return platform.stack;
}

/** Figures the checks and drills print at the end of the suite, by part. */
export const figures: Record<"postgres" | "etl" | "edge" | "observability" | "alerts" | "logs", string[]> = { postgres: [], etl: [], edge: [], observability: [], alerts: [], logs: [] };

export const sh = nodeShell(cfg);
/** A shell expression: the ID of a running container of `service` on the node the command runs on. */
export const container = (service: string) => `$(docker ps -q -f label=com.docker.swarm.service.name=${service} | head -n1)`;
export const CLIENT = container(`${NAME}-client`);

/** Runs a Python script in the client container (psycopg2 and the secrets are there). */
export async function py(script: string, args: string[] = [], timeoutMs = 120_000): Promise<string> {
    return sh(`echo ${b64(script)} | base64 -d | docker exec -i ${CLIENT} python3 - ${args.join(" ")}`, "mgr1", timeoutMs);
}

/** Runs SQL through the router as `user` (its password from its Swarm secret). */
export async function psql(sql: string, o: { user?: string; db?: string; port?: number; cluster?: string } = {}): Promise<string> {
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
export async function cluster(): Promise<Record<string, MemberView>> {
    return JSON.parse(await py(CLUSTER_SCRIPT, MEMBERS.map((m) => `${NAME}-${m}`)));
}
export const member = (node: string) => `${NAME}-${node}`;
export async function leaderNode(): Promise<string | undefined> {
    const c = await cluster();
    const m = Object.entries(c).find(([, v]) => v.role === "leader" && v.state === "running");
    return m ? m[0].slice(NAME.length + 1) : undefined;
}
/**
 * Polls until every member runs: one leader, every other a synchronous standby that streams
 * (a standby not yet synchronous could not take over). Returns the leader's node.
 */
export async function healthy(timeoutMs: number): Promise<{ leader: string; seconds: number }> {
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
export interface WriterResult {
    acked: [number, number][];
    errors: [number, number, string][];
}
export function writer(run: string, seconds: number): Promise<WriterResult> {
    return py(WRITER_SCRIPT, [run, String(seconds)], (seconds + 60) * 1000).then((out) => JSON.parse(out) as WriterResult);
}
/** The window of failed writes: from the first failure to the first acknowledged write after it. */
export function window(r: WriterResult): { firstError: number; recovered: number; seconds: number } | undefined {
    if (r.errors.length === 0) return undefined;
    const firstError = r.errors[0][1];
    const after = r.acked.find(([, t]) => t > firstError);
    return { firstError, recovered: after ? after[1] : Infinity, seconds: (after ? after[1] : Infinity) - firstError };
}
export async function missingAcked(run: string, r: WriterResult): Promise<number[]> {
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
export async function schedulerRun(template: string): Promise<string> {
    const node = await sh(`docker service ps ${SCHEDULER} --filter desired-state=running --format '{{.Node}}'`);
    const r = await withSession(hosts.get(node)!, (s) => s.exec(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${SCHEDULER} | head -n1) swarm-etl-scheduler run ${template} --wait`, 900_000));
    if (r.code !== 0) throw new Error(`swarm-etl-scheduler run ${template} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** A command in the repository's container (on mgr1). */
export const repoExec = (command: string) => sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${REPO_NAME} | head -n1) ${command}`);

/** Row count and an md5 of every row, by table of the warehouse's public schema. */
export async function checksums(c: string): Promise<Record<string, string>> {
    const tables = (await psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", { cluster: c })).split("\n").filter(Boolean);
    const out: Record<string, string> = {};
    for (const t of tables) out[t] = await psql(`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM ${t} x`, { cluster: c });
    return out;
}


/** The Spark master's JSON (its UI's /json/), read inside its container. */
export async function sparkMaster(): Promise<{ status: string; workers: { id: string; state: string; host: string }[]; activeapps: { id: string; name: string }[]; completedapps: { id: string; name: string; state: string }[] }> {
    const c = `$(docker ps -q -f label=com.docker.swarm.service.name=${SPARK}-master | head -n1)`;
    return JSON.parse(await sh(`docker exec ${c} python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/json/').read().decode())"`, SPARK_MASTER_NODE));
}

/** md5 of every table of the warehouse's star schema, rows in key order: equal tables, equal checksums. */
export const STAR_CHECKSUM = `SELECT string_agg(t || ':' || h, ' ' ORDER BY t) FROM (
  SELECT 'dim_date' t, md5(string_agg(d::text, '|' ORDER BY d.date_key)) h FROM flights.dim_date d
  UNION ALL SELECT 'dim_airport', md5(string_agg(d::text, '|' ORDER BY d.airport_key)) FROM flights.dim_airport d
  UNION ALL SELECT 'dim_airline', md5(string_agg(d::text, '|' ORDER BY d.airline_key)) FROM flights.dim_airline d
  UNION ALL SELECT 'dim_plane', md5(string_agg(d::text, '|' ORDER BY d.plane_key)) FROM flights.dim_plane d
  UNION ALL SELECT 'dim_weather', md5(string_agg(d::text, '|' ORDER BY d.weather_key)) FROM flights.dim_weather d
  UNION ALL SELECT 'fact_flight', md5(string_agg(f::text, '|' ORDER BY f.flight_key)) FROM flights.fact_flight f
  UNION ALL SELECT 'quarantine', md5(coalesce(string_agg(q::text, '|' ORDER BY q::text), '')) FROM flights.quarantine q) x`;

/** The platform, as `platform` says. */
export async function program() {
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
    const restored = platform.restoring
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
        images: { postgres: image("postgres"), etcd: image("etcd"), router: platform.routerImage ?? image("router") },
        members: MEMBERS,
        dcs: ["mgr1", "mgr2", "mgr3"],
        // Not on mgr1, which the logs drill crashes: Keycloak's connections through a router that
        // vanishes hang until they time out, and that drill is about the logs.
        routerConstraints: ["node.hostname!=mgr1"],
        synchronous: true,
        databases: DEFAULT_DATABASES,
        roles: ROLES,
        primary: platform.primary,
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
    // Spark, and the ETL that writes through the router as etl_writer.
    const target = `${NAME}-${roleSecret("etl_writer")}`;
    const secret = pg.secrets[roleSecret("etl_writer")];
    const ref = etlPasswordRef(secret, target);
    const spark = new SparkCluster(SPARK, {
        ...conn,
        nodeConnections: nodes,
        image: imageNamed(SPARK_IMAGE),
        masterNode: SPARK_MASTER_NODE,
        workerNodes: SPARK_WORKERS,
        workerLabel: "swarm-etl.spark=worker",
        workerMemory: platform.workerMemory,
        executorNetworks: [pg.network.networkId],
        executorSecrets: [ref],
        endpointMode: "dnsrr",
        encrypted: false,
    });
    // Every container's log on every node, in VictoriaLogs; the programs' spans (the ETL's runs,
    // Keycloak's requests) through the same collectors to Jaeger.
    const logs = new Logs(LOGS, {
        ...conn,
        node: LOGS_NODE,
        nodeConnection: nodes[LOGS_NODE],
        nodeConnections: nodes,
        store: "victorialogs",
        images: { collector: imageNamed(LOGS_IMAGES.collector), store: imageNamed(LOGS_IMAGES.victorialogs) },
        retention: "2d",
        tracesHost: tracesStoreName(TRACES),
        endpointMode: "dnsrr",
        encrypted: false,
    });
    const traces = new Traces(TRACES, {
        ...conn,
        node: LOGS_NODE,
        nodeConnection: nodes[LOGS_NODE],
        image: imageNamed(TRACES_IMAGE),
        network: { networkId: logs.network.networkId, name: `${LOGS}-net` },
        retention: "2d",
        endpointMode: "dnsrr",
    });
    const telemetry = { networkId: logs.network.networkId, otlpEndpoint: logs.otlpEndpoint };
    const etl = new FlightsEtl(
        ETL,
        {
            ...conn,
            image: imageNamed(SPARK_IMAGE),
            spark,
            warehouse: { networkId: pg.network.networkId, endpoint: pg.primaryEndpoint, database: "warehouse", user: "etl_writer", schema: "flights", passwordSecret: ref, passwordFile: `${SECRETS_DIR}/${target}` },
            runId: platform.runId,
            schedule: platform.schedule,
            dq: platform.dq,
            executorMemory: "768m",
            pushgateway: { image: imageNamed(PUSHGATEWAY_IMAGE), nodeConnection: nodes[SPARK_MASTER_NODE] },
            telemetry,
            endpointMode: "dnsrr",
        },
        { dependsOn: [pg.reconcile, scheduler, logs, traces] },
    );
    // Keycloak on the warehouse's PostgreSQL, the realm as code, the edge in front of Keycloak and Spark.
    const identity = identityTier(
        {
            name: NAME,
            users: USERS,
            extraViewers: [{ username: LOCKED, password: LOCKED_PASSWORD }],
            members: MEMBERS,
            keycloakReplicas: KC_NODES.length,
            cookieRefresh: "15s",
            tracing: { networkId: logs.network.networkId, otlpGrpcEndpoint: logs.otlpGrpcEndpoint },
            // Jaeger's UI and query API, and VictoriaLogs' UI, behind the same login.
            extraUis: [
                { name: "traces", upstream: traces.queryUrl, networkId: logs.network.networkId, roles: OBSERVABILITY_UI_ROLES },
                { name: "logs", upstream: logs.queryUrl, networkId: logs.network.networkId, roles: OBSERVABILITY_UI_ROLES },
            ],
        },
        { pg, spark, sparkName: SPARK },
    );
    // Metrics and alerts for all of it; Alertmanager's webhook goes to a sink that logs what it gets.
    const obs = new Observability(OBS, {
        ...conn,
        node: OBS_NODE,
        nodeConnection: nodes[OBS_NODE],
        images: Object.fromEntries(Object.entries(OBSERVABILITY_IMAGES).map(([k, v]) => [k, imageNamed(v)])) as ObservabilityArgs["images"],
        targets: [...pg.metricsTargets, ...repository.metricsTargets, ...spark.metricsTargets, ...etl.metricsTargets, ...identity.kc.metricsTargets, ...identity.edge.metricsTargets, ...logs.metricsTargets, ...traces.metricsTargets],
        // The edge's certificate, as the blackbox exporter sees it.
        tlsProbes: [identity.edge.tlsProbe],
        // The webhook, and mail and a chat (its URL a secret) to the same sink.
        alerting: {
            receivers: [
                {
                    name: "lab",
                    webhook: { url: `http://${ALERT_SINK}:8080/` },
                    email: { to: "ops@lab.swarm-etl.test", from: "alertmanager@lab.swarm-etl.test", smarthost: `${ALERT_SINK}:1025`, requireTls: false },
                    chat: { url: pulumi.secret(`http://${ALERT_SINK}:8080/chat/${CHAT_TOKEN}`), channel: "#lab" },
                },
            ],
            defaultReceiver: "lab",
            groupWait: "5s",
        },
        thresholds: { slackSeconds: 7200 },
        // Rules evaluated every 5 s: an alert leaves soon after its condition held for its `for`;
        // a scrape of a dead node's target gives up after 5 s (every target here answers in ms).
        evaluationInterval: "5s",
        scrapeTimeout: "5s",
        // Silences written every 15 s: the crash drill waits that long, not a minute.
        snapshotInterval: "15s",
        endpointMode: "dnsrr",
        encrypted: false,
    });
    new Service(ALERT_SINK, {
        ...conn,
        name: ALERT_SINK,
        image: image("postgres"),
        command: ["python3", "-c", ALERT_SINK_SCRIPT],
        networks: [obs.network.networkId],
        // With Alertmanager, away from the nodes the drills break.
        constraints: [`node.hostname==${OBS_NODE}`],
        endpointMode: "dnsrr",
        stopGracePeriod: "1s",
        labels: { "swarm-etl.stack": OBS },
    });
    return { primaryEndpoint: pg.primaryEndpoint, replicaEndpoint: pg.replicaEndpoint, secretNames: pg.secretNames, etlJob: etl.jobName, etlTemplate: etl.templateName, jobs: obs.jobs, ...identity.outputs };
}
