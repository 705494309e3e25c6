// Identity and the edge, against the platform tests/lab/platform.test.ts deployed
// (tests/lab/platform/suite.ts: Keycloak's two replicas on the warehouse's PostgreSQL, the platform
// realm as code, the edge on the managers' published port 8443, on the managers' public addresses,
// which this machine reaches as an operator does). A real browser (Debian's chromium, driven by
// playwright-core) signs each role's user in and opens every UI: the role × UI matrix; the realm's
// own console; drift in the realm; sign-out; the brute-force lockout and its metric; TLS against
// the certificate the stack exported. The drills: a Keycloak replica killed under a signed-in
// session; a PostgreSQL failover under a login loop; then no secret in the state, the specs or the logs.
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { chromium, Browser } from "playwright-core";
import { search } from "jmespath";
import { DEFAULT_GRAFANA_ROLES, roleAttributePath } from "../../../components/stacks/grafana/render";
import { ADMIN_CLIENT_ID, KEYCLOAK_MANAGEMENT_PORT } from "../../../components/stacks/identity/keycloak";
import { adminClient, forgetAdminClients } from "../../../providers/keycloak/admin";
import { AUTH_HOST, hostUrl } from "../../../components/stacks/edge/render";
import { log, managerConnection, nodeConnections } from "../harness";
import { privateKey, REPO } from "../labConfig";
import { containerLogs, until } from "../nodeShell";
import { ALLOWED, browserSignIn, DOMAIN, edgeCookie, edgeRequest, passwordGrant, PORT, UIS, url } from "../identity/stack";
import { cfg, figures, healthy, KC, KC_NODES, LOCKED, LOCKED_PASSWORD, MEMBERS, NAME, sh, stack, USERS } from "./suite";

const CHROMIUM = process.env.SWARM_ETL_CHROMIUM ?? "/usr/bin/chromium";
/** The managers' public addresses (this machine is on the lab's public network, as an operator is); the browser's names map to the first. */
const PUBLIC = cfg.managers.map((m) => m.publicAddress!);
const ENTRANCE = PUBLIC[0];
let browser: Browser | undefined;

const request = (target: string, o: Parameters<typeof edgeRequest>[2] = {}) => edgeRequest(ENTRANCE, target, o);

async function outputs(): Promise<Record<string, string>> {
    return Object.fromEntries(Object.entries(await stack().outputs()).map(([k, v]) => [k, String(v.value)]));
}

/** A browser, launched once for the edge's checks and drills. */
export async function theBrowser(): Promise<Browser> {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; fix: apt-get install -y chromium (scripts/setup.sh does), or set SWARM_ETL_CHROMIUM`);
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: [`--host-resolver-rules=MAP *.${DOMAIN} ${ENTRANCE}`, "--no-sandbox"] });
    return browser;
}

/**
 * Waits until every Keycloak replica is ready again — its database among its checks
 * (/health/ready on the management port) — and returns the seconds it took: a drill that broke the
 * data path ends with it, so what follows and the teardown find Keycloak serving.
 */
export async function keycloakReady(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    const ready = (node: string) => sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1) curl -fsS -o /dev/null -w '%{http_code}' http://127.0.0.1:${KEYCLOAK_MANAGEMENT_PORT}/health/ready`, node).catch(() => "down");
    let last: string[] = [];
    await until(async () => (last = await Promise.all(KC_NODES.map(ready))).every((c) => c === "200"), timeoutMs, "every Keycloak replica ready").catch(() => {
        throw new Error(`Keycloak not ready within ${timeoutMs / 1000} s: ${KC_NODES.map((n, i) => `${n} ${last[i]}`).join(", ")}`);
    });
    return (Date.now() - t0) / 1000;
}

/** Closes the browser and the Admin REST API clients (platform.test.ts' afterAll). */
export async function edgeTeardown(): Promise<void> {
    forgetAdminClients();
    await browser?.close().catch(() => undefined);
}

/** Identity and the edge: what a person sees, in order, none of it destructive. */
export function edgeChecks(): void {
    describe("identity and the edge", () => {
        test("Keycloak takes X-Forwarded-* only from its own network (the edge's), the subnet the swarm allocated", async () => {
            const subnet = (await sh(`docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' ${KC}-net`)).trim();
            expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
            const env = JSON.parse(await sh(`docker service inspect --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' ${KC}`)) as string[];
            expect(env).toContain(`KC_PROXY_TRUSTED_ADDRESSES=${subnet}`);
            expect(env).toContain("KC_PROXY_HEADERS=xforwarded");
        });

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
            const chrome = await theBrowser();
            const matrix: string[] = [];
            for (const user of USERS) {
                const context = await chrome.newContext({ ignoreHTTPSErrors: true });
                const login = await context.newPage();
                const t0 = Date.now();
                await browserSignIn(login, user, UIS.spark, true);
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
            figures.edge.push(`role × UI: ${matrix.join("; ")}`);
        }, 600_000);

        test("a platform admin administers the platform realm in its own admin console, through the edge (realm-management's realm-admin from the group)", async () => {
            const admin = USERS.find((u) => u.role === "platform-admin")!;
            const other = USERS.find((u) => u.role === "viewer")!;
            const context = await (await theBrowser()).newContext({ ignoreHTTPSErrors: true });
            const page = await context.newPage();
            // The matrix signed everyone in once (their own password chosen): this is a second sign-in.
            await browserSignIn(page, admin, UIS.spark, false);
            const t0 = Date.now();
            await page.goto(url("id", `/admin/platform/console/#/platform/users`));
            // The console signs in on its own (the realm's SSO session on id.<domain>) and lists the realm's users over the Admin REST API.
            await page.getByText(other.username, { exact: true }).first().waitFor({ timeout: 90_000 }).catch(async (err: Error) => {
                const text = (await page.textContent("body").catch(() => ""))?.replace(/\s+/g, " ").slice(0, 600);
                throw new Error(`the platform realm's console did not list its users for ${admin.username} (${page.url()}): ${text}; ${err.message.split("\n")[0]}`);
            });
            expect(page.url()).toMatch(new RegExp(`^${url("id", "/admin/platform/console/").replace(/[.]/g, "\\.")}`));
            await page.screenshot({ path: path.join(REPO, "docs/img/edge-admin-console.png") });
            figures.edge.push(`the platform realm's admin console listed its users ${((Date.now() - t0) / 1000).toFixed(1)} s after it was opened`);
            await context.close();
        }, 300_000);

        test("drift in the lab's realm: realm-admin taken from the platform admins and the edge's redirect URI changed in the console; refresh sees both, up puts them back", async () => {
            // The Admin REST API as the program reaches it: through the SSH transport to Keycloak's task.
            const kc = await adminClient({ url: `http://${KC}:8080`, clientId: ADMIN_CLIENT_ID, clientSecret: (await outputs()).adminSecret, tunnel: { connection: managerConnection(), privateKey: privateKey(cfg), nodeConnections: nodeConnections() } });
            const realm = "platform";
            const admins = (await kc.groups.find({ realm, search: "platform-admin", exact: true })).find((g) => g.name === "platform-admin")!;
            const rm = (await kc.clients.find({ realm, clientId: "realm-management" }))[0];
            const ra = await kc.clients.findRole({ realm, id: rm.id!, roleName: "realm-admin" });
            const edgeClient = (await kc.clients.find({ realm, clientId: "edge" }))[0];
            const clientRolesOf = async () => Object.keys((await kc.groups.listRoleMappings({ realm, id: admins.id! })).clientMappings ?? {});
            expect(await clientRolesOf()).toEqual(["realm-management"]);
            await kc.groups.delClientRoleMappings({ realm, id: admins.id!, clientUniqueId: rm.id!, roles: [{ id: ra!.id!, name: ra!.name! }] });
            await kc.clients.update({ realm, id: edgeClient.id! }, { ...edgeClient, redirectUris: ["https://evil.example.com/oauth2/callback"] });

            const t0 = Date.now();
            const refresh = await stack().refresh({ onOutput: log("pgt-refresh-drift") });
            const refreshSeconds = (Date.now() - t0) / 1000;
            expect(refresh.summary.resourceChanges).toMatchObject({ update: 2 });
            const t1 = Date.now();
            const up = await stack().up({ onOutput: log("pgt-up-repair") });
            expect(up.summary.resourceChanges).toMatchObject({ update: 2 });
            expect(await clientRolesOf()).toEqual(["realm-management"]);
            expect((await kc.clients.findOne({ realm, id: edgeClient.id! }))?.redirectUris).toEqual(edgeClient.redirectUris);
            figures.edge.push(`drift (a client role, a redirect URI): refresh saw both in ${refreshSeconds.toFixed(1)} s, up repaired them in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
        }, 600_000);

        test("signing out ends the session: the browser is sent to the login again, and its old cookie stops working", async () => {
            const user = USERS[0];
            const context = await (await theBrowser()).newContext({ ignoreHTTPSErrors: true });
            const page = await context.newPage();
            await page.goto(UIS.spark);
            await page.waitForSelector("#username", { timeout: 60_000 });
            await page.screenshot({ path: path.join(REPO, "docs/img/edge-login.png") });
            await page.fill("#username", user.username);
            await page.fill("#password", user.chosen);
            await page.click("#kc-login");
            await page.waitForURL((u) => u.hostname.startsWith("spark."), { timeout: 60_000 });
            const cookie = await edgeCookie(context);
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
            figures.edge.push(`a copied session cookie stopped working ${((Date.now() - t0) / 1000).toFixed(1)} s after the sign-out (cookieRefresh 15 s)`);
        }, 300_000);

        test("brute force: wrong passwords lock the user out, and the lockout shows in Keycloak's metrics", async () => {
            const { certificate, cliSecret } = await outputs();
            const token = (password: string) => passwordGrant(ENTRANCE, NAME, { ca: certificate, cliSecret, username: LOCKED, password });
            // Each replica counts its own events: the sum of both.
            const scrape = async () => (await Promise.all(KC_NODES.map((n) => sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1) curl -fsS http://127.0.0.1:${KEYCLOAK_MANAGEMENT_PORT}/metrics`, n)))).join("\n");
            const metrics = async () => {
                const text = await scrape();
                // A sample's value follows its labels; an exemplar (` # {trace_id=…} 1.0 <time>`, with tracing on) is not part of it.
                const sum = (re: RegExp) => text.split("\n").filter((l) => re.test(l)).reduce((n, l) => n + Number(l.split(" # ")[0].trim().split(" ").pop()), 0);
                // Labels in Prometheus' order: error, event, realm.
                const event = (name: string, error: string) => new RegExp(`^keycloak_user_events_total\\{(?=.*error="${error}")(?=.*event="${name}")(?=.*realm="platform")`);
                return {
                    failures: sum(event("login", "invalid_user_credentials")),
                    refused: sum(event("login", "user_temporarily_disabled")),
                    lockouts: sum(event("user_disabled_by_temporary_lockout", "")),
                };
            };
            const before = await metrics();
            const shown = async () => (await scrape()).split("\n").filter((l) => l.includes("user_events")).join("\n");
            for (let i = 0; i < 5; i++) expect((await token("wrong-" + i)).status).toBeGreaterThanOrEqual(400);
            // Locked now: even the right password is refused.
            const locked = await token(LOCKED_PASSWORD);
            expect(locked.status).toBeGreaterThanOrEqual(400);
            const after = await metrics();
            const d = { failures: after.failures - before.failures, refused: after.refused - before.refused, lockouts: after.lockouts - before.lockouts };
            // Wrong passwords in quick succession lock the user at once (Keycloak's quick-login check), so
            // some of the five already meet a locked account: every attempt is counted as one or the other.
            if (d.failures < 1 || d.failures + d.refused < 6 || d.lockouts < 1) throw new Error(`the failed logins and the lockout are not in the metrics (${JSON.stringify(d)}): ${await shown()}`);
            figures.edge.push(`brute force: 5 wrong passwords, then the right one refused; metrics: +${d.failures} invalid_user_credentials, +${d.refused} user_temporarily_disabled, +${d.lockouts} user_disabled_by_temporary_lockout`);
        }, 180_000);

        test("Grafana's role (real clusters; Grafana cannot run here) from each role's real ID token: the mapping's JMESPath on the lab Keycloak's claims", async () => {
            const { certificate, cliSecret } = await outputs();
            const path = roleAttributePath(DEFAULT_GRAFANA_ROLES);
            const got: string[] = [];
            for (const user of USERS) {
                const r = await passwordGrant(ENTRANCE, NAME, { ca: certificate, cliSecret, username: user.username, password: user.chosen });
                expect(r.status).toBe(200);
                const idToken = (JSON.parse(r.body) as { id_token: string }).id_token;
                const claims = JSON.parse(Buffer.from(idToken.split(".")[1], "base64url").toString("utf8")) as { roles?: string[] };
                got.push(`${user.role} → ${search(claims, path) as string}`);
            }
            const expected = USERS.map((u) => `${u.role} → ${DEFAULT_GRAFANA_ROLES.admin.includes(u.role) ? "Admin" : DEFAULT_GRAFANA_ROLES.editor.includes(u.role) ? "Editor" : DEFAULT_GRAFANA_ROLES.viewer.includes(u.role) ? "Viewer" : ""}`);
            expect(got).toEqual(expected);
            expect(new Set(got.map((g) => g.split(" → ")[1])).size).toBe(3);
            figures.edge.push(`Grafana's roles from real ID tokens: ${got.join(", ")}`);
        }, 120_000);
    });
}

/** The drills (a Keycloak replica killed; PostgreSQL's primary killed under a login loop), and the secrets check after them. */
export function edgeDrills(): void {
    describe("identity and the edge: drills", () => {
        test("a Keycloak replica killed (two replicas, as in prod): a signed-in session keeps working", async () => {
            const user = USERS[1];
            const context = await (await theBrowser()).newContext({ ignoreHTTPSErrors: true });
            await browserSignIn(await context.newPage(), user, UIS.spark, false);
            const cookie = await edgeCookie(context);
            await context.close();
            const { certificate } = await outputs();
            const victim = KC_NODES[0];
            await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${KC} | head -n1)`, victim);
            // 45 s: three of the edge's session checks with Keycloak (cookieRefresh 15 s), on the replica left.
            const statuses: number[] = [];
            for (const t0 = Date.now(); Date.now() - t0 < 45_000; ) {
                statuses.push(await request(UIS.spark, { ca: certificate, cookie }).then((r) => r.status, () => 0));
                await new Promise((r) => setTimeout(r, 1500));
            }
            const ok = statuses.filter((x) => x === 200).length;
            figures.edge.push(`a Keycloak replica killed under a signed-in session: ${ok} of ${statuses.length} requests in 45 s answered 200 (${[...new Set(statuses)].join(", ")})`);
            expect(statuses.every((x) => x === 200)).toBe(true);
            // Swarm replaces it meanwhile; the next drill needs only the replica left.
        }, 900_000);

        test("Keycloak through a PostgreSQL failover: logins work again once the new primary is up", async () => {
            const { certificate, cliSecret } = await outputs();
            const user = USERS[0];
            const login = () => passwordGrant(ENTRANCE, NAME, { ca: certificate, cliSecret, username: user.username, password: user.chosen }).then((r) => r.status, () => 0);
            expect(await login()).toBe(200);
            const role = async (node: string) =>
                (await sh(`docker exec $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-${node} | head -n1) python3 -c "import json, urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:8008/patroni'))['role'])"`, node).catch(() => "")).trim();
            let leader = "";
            await until(async () => {
                for (const m of MEMBERS) if (["master", "primary"].includes(await role(m))) leader = m;
                return leader !== "";
            }, 120_000, "PostgreSQL has a primary");
            const t0 = Date.now();
            await sh(`docker kill $(docker ps -q -f label=com.docker.swarm.service.name=${NAME}-${leader} | head -n1)`, leader);
            // Logins in a loop until five in a row succeed after the first failure (or 60 s without one).
            const log: [number, number][] = [];
            let firstFailure: number | undefined;
            for (;;) {
                const at = (Date.now() - t0) / 1000;
                const status = await login();
                log.push([Math.round(at * 10) / 10, status]);
                if (status !== 200 && firstFailure === undefined) firstFailure = at;
                const tail = log.slice(-5);
                if (tail.length === 5 && tail.every(([, st]) => st === 200) && (firstFailure !== undefined || at > 60)) break;
                if (at > 240) break;
                await new Promise((r) => setTimeout(r, 1000));
            }
            const recovered = log.slice(-5)[0][0];
            figures.edge.push(`PostgreSQL failover (${leader}'s primary killed): logins ${firstFailure === undefined ? "never failed" : `failed from ${firstFailure.toFixed(1)} s, succeeded again from ${recovered.toFixed(1)} s`} (${log.length} attempts)`);
            expect(log.slice(-5).every(([, st]) => st === 200)).toBe(true);
            expect(recovered).toBeLessThan(180);
            // The old primary back as a synchronous standby before what follows.
            await healthy(120_000);
        }, 900_000);

        test("the admin secret, the client secrets and the users' passwords are in no state file, service spec or log", async () => {
            const o = await outputs();
            const secrets = [o.adminSecret, o.clientSecret, o.cliSecret, ...USERS.flatMap((u) => [u.initial, u.chosen]), LOCKED_PASSWORD];
            for (const s of secrets) expect(s.length).toBeGreaterThanOrEqual(16);
            const state = fs.readFileSync(path.join(process.env.PULUMI_BACKEND_URL!.replace(/^file:\/\//, ""), ".pulumi/stacks/swarm-etl-tests", `${NAME}.json`), "utf8");
            const specs = await sh(`docker service ls -q --filter name=${NAME}- | xargs docker service inspect`);
            const logs = await containerLogs(cfg, `${NAME}-`);
            for (const [where, text] of [["state", state], ["specs", specs], ["logs", logs]] as const) {
                expect(text.length).toBeGreaterThan(1000);
                const found = secrets.filter((s) => text.includes(s));
                expect(`${where}: ${found.length} secret(s) found`).toBe(`${where}: 0 secret(s) found`);
            }
        }, 600_000);
});
}
