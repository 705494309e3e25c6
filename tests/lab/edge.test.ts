// The identity tier and the edge on the lab, through the real engine: PostgreSQL (one member),
// Keycloak on it, the platform realm as code (through the SSH transport to Keycloak's task), Spark
// (master and history server: two real UIs) and the edge (nginx + oauth2-proxy on the managers'
// published port 8443, on the managers' public addresses, which this machine reaches as an
// operator does). Then a real browser (Debian's chromium, driven by playwright-core) signs
// each role's user in and opens every UI: the role × UI matrix; sign-out; the brute-force
// lockout and its metric; TLS against the certificate the stack exported; no secret in the
// state, the specs or the logs. Every Swarm object here is named idt-*.
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { randomBytes } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { chromium, Browser } from "playwright-core";
import { PostgresCluster } from "../../components/stacks/postgres/postgresCluster";
import { DEFAULT_DATABASES, DEFAULT_ROLES as PG_ROLES, POSTGRES_IMAGES } from "../../components/stacks/postgres/config";
import { roleSecret } from "../../components/stacks/postgres/render";
import { Keycloak, KEYCLOAK_IMAGE, KEYCLOAK_MANAGEMENT_PORT } from "../../components/stacks/identity/keycloak";
import { DEFAULT_ROLES, defaultGroups, PlatformRealm } from "../../components/stacks/identity/realm";
import { SparkCluster, UI_PORTS, sparkNames } from "../../components/stacks/spark/sparkCluster";
import { SPARK_IMAGE } from "../../components/stacks/spark/config";
import { Edge, EDGE_IMAGES } from "../../components/stacks/edge/edge";
import { AUTH_HOST, hostUrl } from "../../components/stacks/edge/render";
import { LAB_DOMAIN } from "../../components/stacks/edge/config";
import { ensureSwarm, inlineStack, log, managerConnection, nodeConnections, secretKey } from "./harness";
import { labConfig, REPO } from "./labConfig";
import { nodeShell, recordedImage, until } from "./nodeShell";

const cfg = labConfig();
const sh = nodeShell(cfg);
const NAME = "idt";
const KC = `${NAME}-keycloak`;
const KC_NODE = "mgr2";
const PORT = 8443;
const DOMAIN = LAB_DOMAIN;
const url = (host: string, p = "/") => `${hostUrl(host, DOMAIN, PORT)}${p}`;
const UIS = { id: url("id", "/admin/"), spark: url("spark"), "spark-history": url("spark-history") } as const;
/** Who may use each UI (the program's defaults, components/stacks/edge/config.ts). */
const ALLOWED: Record<keyof typeof UIS, string[]> = { id: ["platform-admin"], spark: ["platform-admin", "data-engineer"], "spark-history": ["platform-admin", "data-engineer", "analyst"] };
/** One user per role, in that role's group; first passwords made here, the ones they choose too. */
const USERS = DEFAULT_ROLES.map((r) => ({ username: `u-${r.name}`, role: r.name, initial: randomBytes(12).toString("base64url"), chosen: randomBytes(12).toString("base64url") }));
const LOCKED = "u-locked";
const LOCKED_PASSWORD = randomBytes(12).toString("base64url");
const CHROMIUM = process.env.SWARM_ETL_CHROMIUM ?? "/usr/bin/chromium";
/** The managers' public addresses (this machine is on the lab's public network, as an operator is); the browser's names map to the first. */
const PUBLIC = cfg.managers.map((m) => m.publicAddress!);
const ENTRANCE = PUBLIC[0];

let stack: Stack;
let browser: Browser;
const figures: string[] = [];

function program() {
    return async () => {
        const conn = { connection: managerConnection(), privateKey: secretKey() };
        const nodes = nodeConnections();
        const img = (n: string) => recordedImage(cfg, n);
        const pg = new PostgresCluster(NAME, {
            ...conn,
            nodeConnections: nodes,
            images: { postgres: img(POSTGRES_IMAGES.postgres), etcd: img(POSTGRES_IMAGES.etcd), router: img(POSTGRES_IMAGES.router) },
            members: ["wkr1"],
            dcs: ["mgr1"],
            synchronous: false,
            databases: DEFAULT_DATABASES,
            roles: PG_ROLES,
            routerReplicas: 1,
            endpointMode: "dnsrr",
            encrypted: false,
        });
        const kc = new Keycloak(
            KC,
            {
                ...conn,
                image: img(KEYCLOAK_IMAGE),
                database: { networkId: pg.network.networkId, endpoint: pg.primaryEndpoint, database: "keycloak", user: "keycloak", passwordSecret: pg.secrets[roleSecret("keycloak")] },
                hostname: url("id", ""),
                constraints: [`node.hostname==${KC_NODE}`],
                endpointMode: "dnsrr",
                encrypted: false,
            },
            { dependsOn: [pg.reconcile] },
        );
        const authUrl = hostUrl(AUTH_HOST, DOMAIN, PORT);
        const realm = new PlatformRealm(
            `${NAME}-realm`,
            {
                admin: pulumi.all([kc.adminClientSecret, secretKey()]).apply(([clientSecret, key]) => ({
                    url: kc.internalUrl,
                    clientId: kc.adminClientId,
                    clientSecret,
                    tunnel: { connection: managerConnection(), privateKey: key, nodeConnections: nodes },
                })),
                roles: DEFAULT_ROLES,
                groups: defaultGroups(DEFAULT_ROLES),
                clients: [
                    { clientId: "edge", rootUrl: authUrl, redirectUris: [`${authUrl}/oauth2/callback`], allowedRoles: DEFAULT_ROLES.map((r) => r.name), pkce: true },
                    // The brute-force check signs in through the token endpoint (the password grant).
                    { clientId: `${NAME}-cli`, redirectUris: ["http://localhost/"], directAccessGrants: true, pkce: false },
                ],
                users: [
                    // A complete profile (Keycloak's user profile asks for email and names at the first login otherwise).
                    ...USERS.map((u) => ({ username: u.username, email: `${u.username}@${DOMAIN}`, firstName: "Test", lastName: u.role, groups: [u.role], initialPassword: pulumi.secret(u.initial) })),
                    { username: LOCKED, email: `${LOCKED}@${DOMAIN}`, firstName: "Test", lastName: "locked", groups: ["viewer"], initialPassword: pulumi.secret(LOCKED_PASSWORD) },
                ],
            },
            { dependsOn: [kc] },
        );
        const spark = new SparkCluster(`${NAME}-spark`, {
            ...conn,
            nodeConnections: nodes,
            image: img(SPARK_IMAGE),
            masterNode: "mgr3",
            workerNodes: ["wkr2"],
            workerLabel: "swarm-etl.spark=worker",
            workerMemory: "512m",
            endpointMode: "dnsrr",
            encrypted: false,
        });
        const s = sparkNames(`${NAME}-spark`);
        const edge = new Edge(
            `${NAME}-edge`,
            {
                ...conn,
                images: { proxy: img(EDGE_IMAGES.proxy), auth: img(EDGE_IMAGES.auth) },
                domain: DOMAIN,
                port: PORT,
                publishMode: "host",
                uis: [
                    { name: "id", upstream: kc.internalUrl, networkId: kc.network.networkId, roles: ALLOWED.id, publicPaths: ["/realms/", "/resources/"] },
                    { name: "spark", upstream: `http://${s.master}:${UI_PORTS.master}`, networkId: spark.network.networkId, roles: ALLOWED.spark },
                    { name: "spark-history", upstream: `http://${s.history}:${UI_PORTS.history}`, networkId: spark.network.networkId, roles: ALLOWED["spark-history"] },
                ],
                oidc: { networkId: kc.network.networkId, issuerUrl: `${url("id", "")}/realms/platform`, internalRealmUrl: `${kc.internalUrl}/realms/platform`, clientId: "edge", clientSecret: realm.clientSecrets.edge },
                // Short, so that a session ended in Keycloak stops working within the test.
                cookieRefresh: "15s",
                endpointMode: "dnsrr",
                encrypted: false,
            },
            { dependsOn: [realm, spark] },
        );
        return { certificate: edge.certificate, adminSecret: kc.adminClientSecret, clientSecret: realm.clientSecrets.edge, cliSecret: realm.clientSecrets[`${NAME}-cli`] };
    };
}

/** An HTTPS request to the edge on a manager's public address, as a person's client sends it, the certificate checked against `ca`. */
function request(target: string, o: { ca?: string; cookie?: string; method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    const u = new URL(target);
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: ENTRANCE, port: PORT, servername: u.hostname, path: u.pathname + u.search, method: o.method ?? "GET", ca: o.ca, rejectUnauthorized: o.ca !== undefined, headers: { host: u.host, ...(o.cookie ? { cookie: o.cookie } : {}), ...o.headers }, timeout: 30_000 },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            },
        );
        req.on("error", reject);
        req.on("timeout", () => req.destroy(new Error(`${target}: no answer within 30 s`)));
        req.end(o.body);
    });
}

async function outputs(): Promise<Record<string, string>> {
    return Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, String(v.value)]));
}

/** Signs `user` in through the real login pages (the first time: choosing a new password), on `start`. */
async function signIn(page: import("playwright-core").Page, user: (typeof USERS)[number], start: string): Promise<void> {
    await page.goto(start);
    await page.waitForSelector("#username", { timeout: 60_000 });
    if (!page.url().startsWith(url("id", "/realms/platform/"))) throw new Error(`the login page is not Keycloak's platform realm: ${page.url()}`);
    await page.fill("#username", user.username);
    await page.fill("#password", user.initial);
    await page.click("#kc-login");
    // The first login asks for a password of the user's own.
    await page.waitForSelector("#password-new", { timeout: 60_000 });
    await page.fill("#password-new", user.chosen);
    await page.fill("#password-confirm", user.chosen);
    await page.click("[type=submit]");
    await page.waitForURL((u) => !u.hostname.startsWith("id."), { timeout: 60_000 }).catch(async (err: Error) => {
        const text = (await page.textContent("body").catch(() => ""))?.replace(/\s+/g, " ").slice(0, 600);
        throw new Error(`${user.username}: the login did not return from Keycloak (${page.url()}): ${text}; ${err.message.split("\n")[0]}`);
    });
}

beforeAll(async () => {
    await ensureSwarm();
    stack = await inlineStack(NAME, program());
    // SWARM_ETL_KEEP_IDT=1 keeps the stack between runs (while working on this file).
    if (process.env.SWARM_ETL_KEEP_IDT !== "1") await stack.destroy({ onOutput: log("idt-destroy-before") });
}, 600_000);

afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (figures.length) console.log(`Identity and the edge:\n  ${figures.join("\n  ")}`);
    if (process.env.SWARM_ETL_KEEP_IDT !== "1") await stack?.destroy({ onOutput: log("idt-destroy") });
}, 600_000);

describe("identity and the edge on the lab", () => {
    test("pulumi up deploys PostgreSQL, Keycloak, the realm as code, Spark and the edge", async () => {
        const t0 = Date.now();
        const res = await stack.up({ onOutput: log("idt-up") });
        expect(res.summary.result).toBe("succeeded");
        figures.push(`deploy from nothing (PostgreSQL, Keycloak's first start with its schema, the realm, Spark, the edge): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }, 1_500_000);

    test("TLS: the edge shows the certificate the stack exported, for every host of the domain; Keycloak's issuer is its public URL", async () => {
        const { certificate } = await outputs();
        expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
        const oidc = await request(url("id", "/realms/platform/.well-known/openid-configuration"), { ca: certificate });
        expect(oidc.status).toBe(200);
        expect(JSON.parse(oidc.body).issuer).toBe(url("id", "/realms/platform"));
        // Another host of the domain, the same certificate; a client that trusts nothing else refuses it.
        expect((await request(url("spark"), { ca: certificate })).status).toBe(302);
        await expect(request(url("spark"), { ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" })).rejects.toThrow();
        // A host the edge does not serve gets nothing.
        expect((await request(`https://other.${DOMAIN}:${PORT}/`, { ca: certificate })).status).toBe(421);
    }, 120_000);

    test("the entrance is on every manager's public address, and no UI is reachable on any other port there", async () => {
        const { certificate } = await outputs();
        const probe = (host: string, port: number) =>
            new Promise<string>((resolve) => {
                const sock = net.connect({ host, port, timeout: 3000 });
                sock.on("connect", () => (sock.destroy(), resolve("open")));
                sock.on("timeout", () => (sock.destroy(), resolve("no answer")));
                sock.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED" ? "refused" : String(e.code)));
            });
        for (const address of PUBLIC) {
            const health = await new Promise<number>((resolve, reject) =>
                https.get({ host: address, port: PORT, path: "/_edge/health", ca: certificate, servername: `id.${DOMAIN}` }, (r) => (r.resume(), resolve(r.statusCode ?? 0))).on("error", reject),
            );
            expect(`${address}:${PORT} ${health}`).toBe(`${address}:${PORT} 200`);
            // Keycloak (8080, its management port 9000), oauth2-proxy (4180), Spark (8080, 8081, 18080): none published.
            for (const port of [4180, 8081, 9000, 18080]) expect(`${address}:${port} ${await probe(address, port)}`).toBe(`${address}:${port} refused`);
        }
    }, 120_000);

    test("no session: every UI redirects to the login, which goes to Keycloak's platform realm", async () => {
        const { certificate } = await outputs();
        for (const target of Object.values(UIS)) {
            const r = await request(target, { ca: certificate });
            expect(r.status).toBe(302);
            expect(String(r.headers.location)).toBe(`${hostUrl(AUTH_HOST, DOMAIN, PORT)}/oauth2/start?rd=${target}`);
        }
        const start = await request(`${hostUrl(AUTH_HOST, DOMAIN, PORT)}/oauth2/start?rd=${UIS.spark}`, { ca: certificate });
        expect(start.status).toBe(302);
        const login = new URL(String(start.headers.location));
        expect(login.origin + login.pathname).toBe(url("id", "/realms/platform/protocol/openid-connect/auth"));
        expect(login.searchParams.get("code_challenge_method")).toBe("S256");
    }, 120_000);

    test("each role's user signs in in a real browser and reaches exactly the UIs its role allows (200 or 403, every cell)", async () => {
        if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; fix: apt-get install -y chromium (scripts/setup.sh does), or set SWARM_ETL_CHROMIUM`);
        browser = await chromium.launch({ executablePath: CHROMIUM, args: [`--host-resolver-rules=MAP *.${DOMAIN} ${ENTRANCE}`, "--no-sandbox"] });
        const matrix: string[] = [];
        for (const user of USERS) {
            const context = await browser.newContext({ ignoreHTTPSErrors: true });
            const login = await context.newPage();
            const t0 = Date.now();
            await signIn(login, user, UIS.spark);
            await login.close();
            const loginSeconds = (Date.now() - t0) / 1000;
            const row: string[] = [];
            for (const [ui, target] of Object.entries(UIS) as [keyof typeof UIS, string][]) {
                // A page of its own per UI (the same session): Keycloak's console navigates on by itself.
                const page = await context.newPage();
                const res = await page.goto(target, { waitUntil: "domcontentloaded" });
                const expected = ALLOWED[ui].includes(user.role) ? 200 : 403;
                row.push(`${ui} ${res?.status()}`);
                expect(`${user.role} → ${ui}: ${res?.status()}`).toBe(`${user.role} → ${ui}: ${expected}`);
                if (expected === 403) expect(await page.textContent("h1")).toContain("not for your role");
                else if (ui === "spark") expect(await page.title()).toMatch(/Spark Master/);
                else if (ui === "spark-history") expect(await page.title()).toMatch(/History Server/);
                if (user.role === "viewer" && ui === "spark") await page.screenshot({ path: path.join(REPO, "docs/img/edge-403.png") });
                await page.close();
            }
            matrix.push(`${user.role}: ${row.join(", ")} (login ${loginSeconds.toFixed(1)} s)`);
            await context.close();
        }
        figures.push(`role × UI: ${matrix.join("; ")}`);
    }, 600_000);

    test("signing out ends the session: the browser is sent to the login again, and its old cookie stops working", async () => {
        const user = USERS[0];
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        const page = await context.newPage();
        await page.goto(UIS.spark);
        await page.waitForSelector("#username", { timeout: 60_000 });
        await page.screenshot({ path: path.join(REPO, "docs/img/edge-login.png") });
        await page.fill("#username", user.username);
        await page.fill("#password", user.chosen);
        await page.click("#kc-login");
        await page.waitForURL((u) => u.hostname.startsWith("spark."), { timeout: 60_000 });
        const cookie = (await context.cookies()).filter((c) => c.name.startsWith("_swarm_etl_edge")).map((c) => `${c.name}=${c.value}`).join("; ");
        expect(cookie).not.toBe("");
        const { certificate } = await outputs();
        expect((await request(UIS.spark, { ca: certificate, cookie })).status).toBe(200);
        await page.goto(`${hostUrl(AUTH_HOST, DOMAIN, PORT)}/oauth2/sign_out`);
        await page.goto(UIS.spark);
        await page.waitForSelector("#username", { timeout: 60_000 });
        expect(page.url()).toMatch(new RegExp(`^${url("id", "/realms/platform/").replace(/[.]/g, "\\.")}`));
        await context.close();
        // The copied cookie: Keycloak ended the session (the edge's back-channel logout), so the
        // edge's next check with Keycloak (cookieRefresh 15 s) refuses it.
        const t0 = Date.now();
        await until(async () => (await request(UIS.spark, { ca: certificate, cookie })).status === 302, 90_000, "the copied session cookie stops working after the sign-out");
        figures.push(`a copied session cookie stopped working ${((Date.now() - t0) / 1000).toFixed(1)} s after the sign-out (cookieRefresh 15 s)`);
    }, 300_000);

    test("brute force: wrong passwords lock the user out, and the lockout shows in Keycloak's metrics", async () => {
        const { certificate, cliSecret } = await outputs();
        const token = (password: string) =>
            request(url("id", "/realms/platform/protocol/openid-connect/token"), {
                ca: certificate,
                method: "POST",
                headers: { "content-type": "application/x-www-form-urlencoded" },
                body: new URLSearchParams({ grant_type: "password", client_id: `${NAME}-cli`, client_secret: cliSecret, username: LOCKED, password, scope: "openid" }).toString(),
            });
        const metrics = async () => {
            const text = await sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1) curl -fsS http://127.0.0.1:${KEYCLOAK_MANAGEMENT_PORT}/metrics`, KC_NODE);
            const sum = (re: RegExp) => text.split("\n").filter((l) => re.test(l)).reduce((n, l) => n + Number(l.split(" ").pop()), 0);
            // Labels in Prometheus' order: error, event, realm.
            const event = (name: string, error: string) => new RegExp(`^keycloak_user_events_total\\{(?=.*error="${error}")(?=.*event="${name}")(?=.*realm="platform")`);
            return {
                failures: sum(event("login", "invalid_user_credentials")),
                refused: sum(event("login", "user_temporarily_disabled")),
                lockouts: sum(event("user_disabled_by_temporary_lockout", "")),
            };
        };
        const before = await metrics();
        const shown = async () => (await sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1) curl -fsS http://127.0.0.1:${KEYCLOAK_MANAGEMENT_PORT}/metrics | grep -i 'user_events' | head -n 20`, KC_NODE)).trim();
        for (let i = 0; i < 5; i++) expect((await token("wrong-" + i)).status).toBeGreaterThanOrEqual(400);
        // Locked now: even the right password is refused.
        const locked = await token(LOCKED_PASSWORD);
        expect(locked.status).toBeGreaterThanOrEqual(400);
        const after = await metrics();
        const d = { failures: after.failures - before.failures, refused: after.refused - before.refused, lockouts: after.lockouts - before.lockouts };
        // Wrong passwords in quick succession lock the user at once (Keycloak's quick-login check), so
        // some of the five already meet a locked account: every attempt is counted as one or the other.
        if (d.failures < 1 || d.failures + d.refused < 6 || d.lockouts < 1) throw new Error(`the failed logins and the lockout are not in the metrics (${JSON.stringify(d)}): ${await shown()}`);
        figures.push(`brute force: 5 wrong passwords, then the right one refused; metrics: +${d.failures} invalid_user_credentials, +${d.refused} user_temporarily_disabled, +${d.lockouts} user_disabled_by_temporary_lockout`);
    }, 180_000);

    test("the admin secret, the client secrets and the users' passwords are in no state file, service spec or log", async () => {
        const o = await outputs();
        const secrets = [o.adminSecret, o.clientSecret, o.cliSecret, ...USERS.flatMap((u) => [u.initial, u.chosen]), LOCKED_PASSWORD];
        for (const s of secrets) expect(s.length).toBeGreaterThanOrEqual(16);
        const state = fs.readFileSync(path.join(process.env.PULUMI_BACKEND_URL!.replace(/^file:\/\//, ""), ".pulumi/stacks/swarm-etl-tests", `${NAME}.json`), "utf8");
        const specs = await sh(`docker service ls -q --filter name=${NAME}- | xargs docker service inspect`);
        const logs = await sh(`for s in $(docker service ls -q --filter name=${NAME}-); do docker service logs --raw $s 2>&1 | tail -n 2000; done`, "mgr1", 300_000);
        for (const [where, text] of [["state", state], ["specs", specs], ["logs", logs]] as const) {
            expect(text.length).toBeGreaterThan(1000);
            const found = secrets.filter((s) => text.includes(s));
            expect(`${where}: ${found.length} secret(s) found`).toBe(`${where}: 0 secret(s) found`);
        }
    }, 600_000);
});
