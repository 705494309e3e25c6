// The identity bench (bench/identity/results.md): Keycloak's start on the lab (its first, which
// makes the schema, and restarts on a made database), the token endpoint's latency through the
// edge under a bounded loop against the floor (a static Keycloak document on the same path), and
// the edge's added latency for an authenticated request against the same UI reached directly
// inside the swarm. One run; the raw samples go to bench/identity/raw/.
//   bash bench/identity/run.sh   (~10 min; its stack `idb` is destroyed at the end)
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { chromium } from "playwright-core";
import { ensureSwarm, inlineStack } from "../../tests/lab/harness";
import { labConfig } from "../../tests/lab/labConfig";
import { b64, nodeShell, until } from "../../tests/lab/nodeShell";
import { browserSignIn, DOMAIN, edgeCookie, edgeRequest, identityProgram, makeUsers, passwordGrant, PORT, UIS, url } from "../../tests/lab/identity/stack";

const NAME = "idb";
const KC = `${NAME}-keycloak`;
const N = Number(process.env.BENCH_N ?? 300);
const cfg = labConfig();
const sh = nodeShell(cfg);
const ENTRANCE = cfg.managers[0].publicAddress!;
const OUT = path.join(__dirname, "results.md");
const RAW = path.join(__dirname, "raw");

const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Keycloak's own figure for its last start: "… started in 12.345s" in its container's log. */
async function startedIn(node: string): Promise<number> {
    const line = await sh(`docker logs $(docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1) 2>&1 | grep -o 'started in [0-9.]*s' | tail -n1`, node);
    const m = /started in ([0-9.]+)s/.exec(line);
    if (!m) throw new Error(`no "started in" line in Keycloak's log on ${node}: ${line}`);
    return Number(m[1]);
}

/** Sequential timings (ms) of `n` calls of `f`, after 10 unmeasured ones. */
async function timed(n: number, f: () => Promise<number>): Promise<number[]> {
    for (let i = 0; i < 10; i++) await f();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        const status = await f();
        if (status !== 200) throw new Error(`a measured request answered ${status}`);
        out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return out;
}

/** In a container on the Spark network: GET the master's /json/ directly and through the edge (one kept-alive connection each), `n` times each, interleaved. */
const INSIDE = `
import http.client, json, ssl, sys, time
n, entrance, host, cookie = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
direct = http.client.HTTPConnection("${NAME}-spark-master", 8080, timeout=30)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
edge = http.client.HTTPSConnection(entrance, ${PORT}, timeout=30, context=ctx)
def get(c, headers):
    t0 = time.perf_counter(); c.request("GET", "/json/", headers=headers); r = c.getresponse(); r.read()
    if r.status != 200: raise SystemExit(f"status {r.status}")
    return (time.perf_counter() - t0) * 1000
for _ in range(10): get(direct, {}); get(edge, {"Host": host, "Cookie": cookie})
d, e = [], []
for _ in range(n): d.append(get(direct, {})); e.append(get(edge, {"Host": host, "Cookie": cookie}))
print(json.dumps({"direct": d, "edge": e}))
`;

async function main() {
    await ensureSwarm();
    const users = makeUsers();
    const stack = await inlineStack(NAME, identityProgram({ name: NAME, users, members: ["wkr1"], keycloakReplicas: 1, cookieRefresh: "60s" }));
    await stack.destroy({});
    const raw: Record<string, unknown> = { measured: new Date().toISOString(), n: N };
    try {
        const t0 = Date.now();
        await stack.up({});
        const deploy = (Date.now() - t0) / 1000;
        const kcNode = (await sh(`docker service ps ${KC} --filter desired-state=running --format '{{.Node}}'`)).trim();
        const first = await startedIn(kcNode);
        // Restarts on the made database: the container killed, Swarm starts a new one.
        const restarts: number[] = [];
        for (let i = 0; i < 3; i++) {
            const before = (await sh(`docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1`, kcNode)).trim();
            await sh(`docker kill ${before}`, kcNode);
            await until(async () => {
                const id = (await sh(`docker ps -q -f label=com.docker.swarm.service.name=${KC} -f health=healthy | head -n1`, kcNode).catch(() => "")).trim();
                return id !== "" && id !== before;
            }, 600_000, "Keycloak's new container is healthy");
            restarts.push(await startedIn(kcNode));
        }
        const outs = Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, String(v.value)]));
        const ca = outs.certificate;
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
        // The person of the bench signs in once (the first login, through the browser).
        const browser = await chromium.launch({ executablePath: process.env.SWARM_ETL_CHROMIUM ?? "/usr/bin/chromium", args: [`--host-resolver-rules=MAP *.${DOMAIN} ${ENTRANCE}`, "--no-sandbox"] });
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        await browserSignIn(await context.newPage(), users[0], UIS.spark, true);
        const cookie = await edgeCookie(context);
        await browser.close();
        const user = users[0];
        const token = await timed(N, () => passwordGrant(ENTRANCE, NAME, { ca, cliSecret: outs.cliSecret, username: user.username, password: user.chosen, agent }).then((r) => r.status));
        const floor = await timed(N, () => edgeRequest(ENTRANCE, url("id", "/realms/platform/.well-known/openid-configuration"), { ca, agent }).then((r) => r.status));
        const masterNode = (await sh(`docker service ps ${NAME}-spark-history --filter desired-state=running --format '{{.Node}}'`)).trim();
        const inside = JSON.parse(
            await sh(`echo ${b64(INSIDE)} | base64 -d | docker exec -i $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-spark-history | head -n1) python3 - ${N} ${ENTRANCE} spark.${DOMAIN}:${PORT} '${cookie}'`, masterNode, 600_000),
        ) as { direct: number[]; edge: number[] };
        Object.assign(raw, { deploySeconds: deploy, keycloakFirstStartSeconds: first, keycloakRestartSeconds: restarts, tokenMs: token, floorMs: floor, directMs: inside.direct, edgeMs: inside.edge });
        fs.mkdirSync(RAW, { recursive: true });
        fs.writeFileSync(path.join(RAW, `run-${raw.measured as string}.json`.replace(/:/g, "-")), JSON.stringify(raw, null, 1));
        const med = (xs: number[]) => pct(xs, 50);
        const report = `# Identity bench: Keycloak's start, the token endpoint, the edge's added latency

Measured ${raw.measured as string} by \`bash bench/identity/run.sh\` on the lab (this machine: 2 cores shared by every lab node; Keycloak 26.7 on Java 21, one replica, its database on PostgreSQL 15 with Patroni (one member) through the router; the edge: nginx + oauth2-proxy 7.15.6 on mgr1's published port 8443). One run; raw samples in \`bench/identity/raw/\`.

| what | figure |
| --- | --- |
| deploy from nothing (PostgreSQL, Keycloak's first start, the realm, Spark's master and history server, the edge) | ${deploy.toFixed(1)} s |
| Keycloak's first start, on an empty database (Keycloak's own "started in") | ${first.toFixed(1)} s |
| Keycloak restarted on its database (container killed, Swarm's new one), median of 3 | ${restarts.sort((a, b) => a - b)[1].toFixed(1)} s (${restarts.map((x) => x.toFixed(1)).join(", ")}) |

Latency, ${N} sequential requests each after 10 unmeasured, one kept-alive connection:

| what | p50 | p99 | ratio (p50) |
| --- | ---: | ---: | ---: |
| token endpoint (password grant) through the edge, from the operator's side | ${ms(med(token))} | ${ms(pct(token, 99))} | ${(med(token) / med(floor)).toFixed(2)} × the floor |
| the floor: Keycloak's static OIDC document, the same path | ${ms(med(floor))} | ${ms(pct(floor, 99))} | 1 |
| the Spark master's /json/ through the edge (TLS, the session checked by oauth2-proxy), from a container in the swarm | ${ms(med(inside.edge))} | ${ms(pct(inside.edge, 99))} | ${(med(inside.edge) / med(inside.direct)).toFixed(2)} × direct |
| the same, directly on the Spark network | ${ms(med(inside.direct))} | ${ms(pct(inside.direct, 99))} | 1 |

The edge adds ${ms(med(inside.edge) - med(inside.direct))} at the median (${ms(pct(inside.edge, 99) - pct(inside.direct, 99))} at p99) to an authenticated request.
`;
        fs.writeFileSync(OUT, report);
        console.log(report);
    } finally {
        await stack.destroy({});
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
