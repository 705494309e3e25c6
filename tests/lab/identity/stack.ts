// The identity tier and the edge as the platform suite (tests/lab/platform/suite.ts) and the
// bench (bench/identity/) deploy them: PostgreSQL, Keycloak on it, the platform realm as code (through
// the SSH transport to Keycloak's task), Spark's master and history server (two real UIs) and the
// edge on the managers' published port. Every Swarm object is named <name>-*.
import * as https from "https";
import { randomBytes } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { PostgresCluster } from "../../../components/stacks/postgres/postgresCluster";
import { DEFAULT_DATABASES, DEFAULT_ROLES as PG_ROLES, POSTGRES_IMAGES } from "../../../components/stacks/postgres/config";
import { roleSecret } from "../../../components/stacks/postgres/render";
import { Keycloak, KEYCLOAK_IMAGE, type KeycloakArgs } from "../../../components/stacks/identity/keycloak";
import { DEFAULT_ROLES, defaultGroups, PlatformRealm } from "../../../components/stacks/identity/realm";
import { SparkCluster, UI_PORTS, sparkNames } from "../../../components/stacks/spark/sparkCluster";
import { SPARK_IMAGE } from "../../../components/stacks/spark/config";
import { Edge, EDGE_IMAGES, type EdgeUi } from "../../../components/stacks/edge/edge";
import { AUTH_HOST, hostUrl } from "../../../components/stacks/edge/render";
import { LAB_DOMAIN } from "../../../components/stacks/edge/config";
import { managerConnection, nodeConnections, secretKey } from "../harness";
import { labConfig } from "../labConfig";
import { recordedImage } from "../nodeShell";

export const PORT = 8443;
export const DOMAIN = LAB_DOMAIN;
export const url = (host: string, p = "/") => `${hostUrl(host, DOMAIN, PORT)}${p}`;
export const UIS = { id: url("id", "/admin/"), spark: url("spark"), "spark-history": url("spark-history") } as const;
/** Who may use each UI (the program's defaults, components/stacks/edge/config.ts). */
export const ALLOWED: Record<keyof typeof UIS, string[]> = { id: ["platform-admin"], spark: ["platform-admin", "data-engineer"], "spark-history": ["platform-admin", "data-engineer", "analyst"] };

export interface TestUser {
    username: string;
    role: string;
    /** The first password (the realm's), and the one the user chooses at the first login. */
    initial: string;
    chosen: string;
}
/** One user per role, in that role's group. */
export const makeUsers = (): TestUser[] => DEFAULT_ROLES.map((r) => ({ username: `u-${r.name}`, role: r.name, initial: randomBytes(12).toString("base64url"), chosen: randomBytes(12).toString("base64url") }));

export interface IdentityStackOptions {
    name: string;
    users: TestUser[];
    /** Extra users in the viewer group (the brute-force check's). */
    extraViewers?: { username: string; password: string }[];
    /** PostgreSQL members (their nodes). */
    members: string[];
    keycloakReplicas: number;
    /** How often the edge checks a session with Keycloak. */
    cookieRefresh: string;
    /** Keycloak's request spans: the collectors' OTLP/gRPC endpoint and their network. */
    tracing?: KeycloakArgs["tracing"];
    /** More UIs behind the edge (the platform's traces and logs). */
    extraUis?: EdgeUi[];
}

/** What the identity tier stands on: the platform's PostgreSQL and Spark (the edge's UIs). */
export interface IdentityBase {
    pg: PostgresCluster;
    spark: SparkCluster;
    /** The Spark cluster's component name (its services' prefix). */
    sparkName: string;
}

/**
 * Keycloak on `pg`, the platform realm as code (through the SSH transport to Keycloak's task) and
 * the edge in front of Keycloak's console and Spark's two UIs, every object named <name>-*.
 * Returns the components and the stack's outputs: the edge's certificate and (as secrets) the
 * admin and client secrets.
 */
export function identityTier(o: IdentityStackOptions, base: IdentityBase) {
    const cfg = labConfig();
    const conn = { connection: managerConnection(), privateKey: secretKey() };
    const nodes = nodeConnections();
    const img = (n: string) => recordedImage(cfg, n);
    const { pg, spark } = base;
    const kc = new Keycloak(
        `${o.name}-keycloak`,
        {
            ...conn,
            image: img(KEYCLOAK_IMAGE),
            database: { networkId: pg.network.networkId, endpoint: pg.primaryEndpoint, database: "keycloak", user: "keycloak", passwordSecret: pg.secrets[roleSecret("keycloak")] },
            hostname: url("id", ""),
            replicas: o.keycloakReplicas,
            // Not on mgr1 (the first manager runs the most), one per node when there are two.
            constraints: ["node.role==manager", "node.hostname!=mgr1"],
            tracing: o.tracing,
            endpointMode: "dnsrr",
            encrypted: false,
        },
        { dependsOn: [pg.reconcile] },
    );
    const authUrl = hostUrl(AUTH_HOST, DOMAIN, PORT);
    const profile = (username: string, last: string) => ({ email: `${username}@${DOMAIN}`, firstName: "Test", lastName: last });
    const realm = new PlatformRealm(
        `${o.name}-realm`,
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
                // Logins through the token endpoint (the password grant): the brute force, the failover loop, the bench.
                { clientId: `${o.name}-cli`, redirectUris: ["http://localhost/"], directAccessGrants: true, pkce: false },
            ],
            users: [
                // A complete profile (Keycloak's user profile asks for email and names at the first login otherwise).
                ...o.users.map((u) => ({ username: u.username, ...profile(u.username, u.role), groups: [u.role], initialPassword: pulumi.secret(u.initial) })),
                ...(o.extraViewers ?? []).map((v) => ({ username: v.username, ...profile(v.username, "viewer"), groups: ["viewer"], initialPassword: pulumi.secret(v.password) })),
            ],
        },
        { dependsOn: [kc] },
    );
    const s = sparkNames(base.sparkName);
    const edge = new Edge(
        `${o.name}-edge`,
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
                ...(o.extraUis ?? []),
            ],
            oidc: { networkId: kc.network.networkId, issuerUrl: `${url("id", "")}/realms/platform`, internalRealmUrl: `${kc.internalUrl}/realms/platform`, clientId: "edge", clientSecret: realm.clientSecrets.edge },
            cookieRefresh: o.cookieRefresh,
            endpointMode: "dnsrr",
            encrypted: false,
        },
        { dependsOn: [realm, spark] },
    );
    return {
        kc,
        realm,
        edge,
        outputs: { certificate: edge.certificate, adminSecret: kc.adminClientSecret, clientSecret: realm.clientSecrets.edge, cliSecret: realm.clientSecrets[`${o.name}-cli`] },
    };
}

/** The identity tier on a PostgreSQL and a Spark of its own (the bench's program). */
export function identityProgram(o: IdentityStackOptions) {
    const cfg = labConfig();
    return async () => {
        const conn = { connection: managerConnection(), privateKey: secretKey() };
        const nodes = nodeConnections();
        const img = (n: string) => recordedImage(cfg, n);
        const pg = new PostgresCluster(o.name, {
            ...conn,
            nodeConnections: nodes,
            images: { postgres: img(POSTGRES_IMAGES.postgres), etcd: img(POSTGRES_IMAGES.etcd), router: img(POSTGRES_IMAGES.router) },
            members: o.members,
            dcs: ["mgr1"],
            synchronous: o.members.length > 1,
            databases: DEFAULT_DATABASES,
            roles: PG_ROLES,
            routerReplicas: 1,
            endpointMode: "dnsrr",
            encrypted: false,
        });
        const spark = new SparkCluster(`${o.name}-spark`, {
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
        return identityTier(o, { pg, spark, sparkName: `${o.name}-spark` }).outputs;
    };
}

export interface EdgeResponse {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

/** An HTTPS request to the edge at `entrance` (a manager's public address), as a person's client sends it, the certificate checked against `ca`. */
export function edgeRequest(entrance: string, target: string, o: { ca?: string; cookie?: string; method?: string; body?: string; headers?: Record<string, string>; agent?: https.Agent } = {}): Promise<EdgeResponse> {
    const u = new URL(target);
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: entrance, port: PORT, servername: u.hostname, path: u.pathname + u.search, method: o.method ?? "GET", ca: o.ca, rejectUnauthorized: o.ca !== undefined, agent: o.agent, headers: { host: u.host, ...(o.cookie ? { cookie: o.cookie } : {}), ...o.headers }, timeout: 30_000 },
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

/** A password grant at the realm's token endpoint through the edge, with the <name>-cli client. */
export function passwordGrant(entrance: string, name: string, o: { ca: string; cliSecret: string; username: string; password: string; agent?: https.Agent }): Promise<EdgeResponse> {
    return edgeRequest(entrance, url("id", "/realms/platform/protocol/openid-connect/token"), {
        ca: o.ca,
        agent: o.agent,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "password", client_id: `${name}-cli`, client_secret: o.cliSecret, username: o.username, password: o.password, scope: "openid" }).toString(),
    });
}

/** Signs `user` in through the real login pages on `start` (the first time: choosing the new password). */
export async function browserSignIn(page: import("playwright-core").Page, user: TestUser, start: string, first: boolean): Promise<void> {
    await page.goto(start);
    await page.waitForSelector("#username", { timeout: 60_000 });
    if (!page.url().startsWith(url("id", "/realms/platform/"))) throw new Error(`the login page is not Keycloak's platform realm: ${page.url()}`);
    await page.fill("#username", user.username);
    await page.fill("#password", first ? user.initial : user.chosen);
    await page.click("#kc-login");
    if (first) {
        await page.waitForSelector("#password-new", { timeout: 60_000 });
        await page.fill("#password-new", user.chosen);
        await page.fill("#password-confirm", user.chosen);
        await page.click("[type=submit]");
    }
    await page.waitForURL((u) => !u.hostname.startsWith("id."), { timeout: 60_000 }).catch(async (err: Error) => {
        const text = (await page.textContent("body").catch(() => ""))?.replace(/\s+/g, " ").slice(0, 600);
        throw new Error(`${user.username}: the login did not return from Keycloak (${page.url()}): ${text}; ${err.message.split("\n")[0]}`);
    });
}

/** The edge's session cookie(s) of a browser context, as a Cookie header. */
export async function edgeCookie(context: import("playwright-core").BrowserContext): Promise<string> {
    return (await context.cookies()).filter((c) => c.name.startsWith("_swarm_etl_edge")).map((c) => `${c.name}=${c.value}`).join("; ");
}
