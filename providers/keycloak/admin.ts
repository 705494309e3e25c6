// The Admin REST API connection of the keycloak:* dynamic providers: an "admin endpoint" (Keycloak's
// base URL and a service account of the master realm, client credentials grant), resolved to a URL
// this process reaches (directly, or through the SSH transport: a tunnel to the task), and one
// authenticated `@keycloak/keycloak-admin-client` per (URL, client id) per process.
//
// The admin port is never published: the provider reaches Keycloak inside the swarm or through
// the SSH transport (the bastion, then a manager).
//
// Nothing here is kept at module scope: the providers are serialized into the state, so the cache
// lives on globalThis and is filled at call time (like the SSH pool, providers/ssh/connection.ts).
//
// The package is ESM-only. Node 22 loads it with require() (require(esm), on by default since
// 22.12); the serialized provider calls `nodeRequire` at run time, inside its methods, so the
// closure serializer captures no module object. jest's own module registry cannot load ESM, so
// `nodeRequire` asks Node's module loader (process.getBuiltinModule), which works under both.
import { createHash } from "crypto";
import type KeycloakAdminClient from "@keycloak/keycloak-admin-client";
import type { HostConnection } from "../swarm/common";
import { serviceTunnelUrl } from "../swarm/serviceTunnel";

export type AdminClient = KeycloakAdminClient;

/**
 * The SSH transport to Keycloak (the lab's, and a real cluster's: the admin port is never
 * published). The service and port are `AdminEndpoint.url`'s host and port (e.g.
 * http://identity-keycloak:8080), so these fields are those of providers/swarm/serviceTunnel.ts's
 * ServiceTunnelArgs without service and port. `serviceTunnelUrl` keeps one tunnel per (service,
 * port) open for the process, since the admin client cached for the endpoint keeps using the
 * local URL it was given.
 */
export interface AdminTunnel {
    /** A manager of the swarm (through the bastion), the other managers as alternates: it finds the task. */
    connection: HostConnection;
    /** The SSH private key (PEM/OpenSSH text; a secret). */
    privateKey: string;
    /** Every node's SSH connection by its hostname in the swarm (the task may run on any); its sshd opens the TCP connections. */
    nodeConnections: Record<string, HostConnection>;
}

/** How the providers reach Keycloak's Admin REST API. */
export interface AdminEndpoint {
    /**
     * Keycloak's base URL (no /admin; no /auth since Keycloak 17), e.g. http://identity-keycloak:8080.
     * Without `tunnel`: as this machine reaches it. With `tunnel`: as the tunnel's far end does.
     */
    url: string;
    /** The realm the service account belongs to. @default - "master" */
    realm?: string;
    /** The service account's client (client credentials grant), e.g. the bootstrap admin client. */
    clientId: string;
    /** Its secret (a secret). */
    clientSecret: string;
    /** Reach `url` through the SSH transport. @default - directly */
    tunnel?: AdminTunnel;
}

/** How long one Admin REST API request (or token request) may take. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Node's own require (not jest's registry), resolving from the working directory (the program's, where node_modules is). */
function nodeRequire(id: string): unknown {
    const nodeModule = process.getBuiltinModule("node:module") as typeof import("module");
    return nodeModule.createRequire(`${process.cwd()}/`)(id);
}

function adminClientClass(): typeof KeycloakAdminClient {
    return (nodeRequire("@keycloak/keycloak-admin-client") as { default: typeof KeycloakAdminClient }).default;
}

/** What is wrong with an endpoint, each with its fix (check() of every resource reports them under `admin`). */
export function adminEndpointProblems(e: Partial<AdminEndpoint> | undefined): string[] {
    if (!e || typeof e !== "object") return [`admin must be { url, clientId, clientSecret }, got ${JSON.stringify(e)}`];
    const out: string[] = [];
    let url: URL | undefined;
    try {
        url = typeof e.url === "string" ? new URL(e.url) : undefined;
    } catch {
        url = undefined;
    }
    if (!url || !["http:", "https:"].includes(url.protocol) || url.search || url.hash) {
        out.push(`admin.url ${JSON.stringify(e.url)} is not an http(s) URL; fix: Keycloak's base URL, e.g. http://identity-keycloak:8080`);
    } else if (/\/(admin|auth)\/?$/.test(url.pathname)) {
        out.push(`admin.url ${JSON.stringify(e.url)} ends in ${url.pathname}; fix: Keycloak's base URL without /admin (and without /auth since Keycloak 17), e.g. ${url.origin}`);
    }
    if (e.realm !== undefined && (typeof e.realm !== "string" || e.realm === "")) out.push(`admin.realm ${JSON.stringify(e.realm)} is not a realm name; fix: leave it out for "master"`);
    if (typeof e.clientId !== "string" || e.clientId === "") out.push(`admin.clientId ${JSON.stringify(e.clientId)} is not a client id; fix: the master realm's bootstrap service account, e.g. swarm-etl-admin`);
    if (typeof e.clientSecret !== "string" || e.clientSecret === "") out.push("admin.clientSecret is empty; fix: the service account's secret (the Keycloak component's adminClientSecret)");
    return out;
}

/**
 * The URL this process reaches Keycloak at: `url` itself, or (with `tunnel`) the local end of a
 * tunnel through the SSH transport to `url`'s host (the service) and port, kept for the process.
 */
export async function resolveAdminUrl(endpoint: AdminEndpoint): Promise<string> {
    const base = endpoint.url.replace(/\/+$/, "");
    if (!endpoint.tunnel) return base;
    const u = new URL(base);
    const local = await serviceTunnelUrl({ ...endpoint.tunnel, service: u.hostname, port: Number(u.port || (u.protocol === "https:" ? 443 : 80)) });
    return local + u.pathname.replace(/\/+$/, "");
}

interface Cached {
    /** sha256 of the secret the client authenticated with: a new secret makes a new client. */
    secretHash: string;
    client: Promise<AdminClient>;
}

function cache(): Map<string, Cached> {
    const g = globalThis as unknown as Record<symbol, Map<string, Cached> | undefined>;
    const key = Symbol.for("swarm-etl.keycloak-admin-clients");
    return (g[key] ??= new Map());
}

/** Why a request got no answer: the cause's code (ECONNREFUSED, …), a timeout, else its text. */
export function networkCause(err: unknown): string {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** The message of a failed token request, with its fix. */
export function tokenFailure(base: string, e: Pick<AdminEndpoint, "realm" | "clientId">, status: number, body: string): string {
    const realm = e.realm ?? "master";
    let parsed: { error?: string; error_description?: string } = {};
    try {
        parsed = JSON.parse(body);
    } catch {
        parsed = {};
    }
    const said = parsed.error ? `${parsed.error}${parsed.error_description ? `: ${parsed.error_description}` : ""}` : body.slice(0, 200);
    const what = `Keycloak at ${base} refused a token for the admin client ${e.clientId} of realm ${realm} (${status} ${said})`;
    if (status === 404) return `${what}; fix: admin.url must be Keycloak's base URL (no /admin, no /auth) and admin.realm the realm the client is in`;
    if (parsed.error === "unauthorized_client") return `${what}; fix: the client needs a service account (client credentials grant): enable "Service accounts roles" on it, or use the bootstrap admin client`;
    if (status === 401 || parsed.error === "invalid_client") {
        return `${what}; fix: check admin.clientId and admin.clientSecret; the bootstrap admin client exists only if Keycloak's first start on an empty database had KC_BOOTSTRAP_ADMIN_CLIENT_ID and its secret`;
    }
    return what;
}

/** A client credentials token: the text and when it expires (ms since the epoch). */
async function fetchToken(base: string, e: AdminEndpoint): Promise<{ token: string; expiresAt: number }> {
    const realm = e.realm ?? "master";
    let res: Response;
    try {
        res = await fetch(`${base}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ grant_type: "client_credentials", client_id: e.clientId, client_secret: e.clientSecret }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
    } catch (err) {
        throw new Error(`cannot reach Keycloak at ${base}: ${networkCause(err)}; fix: is it running, and does this machine reach admin.url (inside the swarm, or through the SSH transport)?`);
    }
    const body = await res.text();
    if (!res.ok) throw new Error(tokenFailure(base, e, res.status, body));
    const t = JSON.parse(body) as { access_token: string; expires_in: number };
    return { token: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 };
}

async function connect(base: string, e: AdminEndpoint): Promise<AdminClient> {
    const Kc = adminClientClass();
    const client = new Kc({ baseUrl: base, realmName: e.realm ?? "master", timeout: REQUEST_TIMEOUT_MS });
    // A client credentials grant has no refresh token (the library's own refresh needs one): a
    // new token is fetched 10 s before the current one expires (the master realm's last 60 s).
    let current = await fetchToken(base, e);
    let pending: Promise<{ token: string; expiresAt: number }> | undefined;
    client.registerTokenProvider({
        async getAccessToken() {
            if (Date.now() > current.expiresAt - 10_000) {
                pending ??= fetchToken(base, e).finally(() => (pending = undefined));
                current = await pending;
            }
            return current.token;
        },
    });
    return client;
}

/** The authenticated admin client of this endpoint: one per (URL, client id) per process. */
export async function adminClient(endpoint: AdminEndpoint): Promise<AdminClient> {
    // Keyed by the URL asked for (a tunnel's local end may differ from one process to the next).
    const key = `${endpoint.url.replace(/\/+$/, "")} ${endpoint.clientId}`;
    const secretHash = createHash("sha256").update(endpoint.clientSecret ?? "").digest("hex");
    const clients = cache();
    const hit = clients.get(key);
    if (hit && hit.secretHash === secretHash) return hit.client;
    const client = resolveAdminUrl(endpoint).then((base) => connect(base, endpoint));
    clients.set(key, { secretHash, client });
    // A failed login is not cached: the next call tries again.
    client.catch(() => clients.get(key)?.client === client && clients.delete(key));
    return client;
}

/** Forgets every cached admin client (tests; a process that outlives its Keycloak). */
export function forgetAdminClients(): void {
    cache().clear();
}

/** The HTTP status of a failed Admin REST API call (the library's NetworkError), if it got an answer. */
export function httpStatus(err: unknown): number | undefined {
    return (err as { response?: { status?: number } })?.response?.status;
}

/** Keycloak's own words for a failed call: status, error text and description, else why there was no answer. */
export function keycloakMessage(err: unknown): string {
    const e = err as { response?: { status?: number }; responseData?: unknown; message?: string };
    const status = e?.response?.status;
    if (status === undefined) return networkCause(err);
    const data = e.responseData as { error?: string; errorMessage?: string; error_description?: string } | string | undefined;
    const text = typeof data === "object" && data ? [data.errorMessage ?? data.error, data.error_description].filter(Boolean).join(": ") : String(data ?? "").slice(0, 200);
    return `${status}${text ? ` ${text}` : ""}`;
}

/** An Error for a failed call: what was being done, Keycloak's words and, where there is one, the fix. */
export function adminError(what: string, err: unknown, fix?: string): Error {
    const status = httpStatus(err);
    const forbidden = status === 403 ? "; fix: the admin client's service account needs the master realm's admin role" : "";
    return new Error(`${what} failed: ${keycloakMessage(err)}${fix ? `; fix: ${fix}` : forbidden}`);
}

/** Runs `fn`, turning a 404 into undefined (the object, or its realm, is gone). */
export async function unlessGone<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
        const r = await fn();
        return r === null ? undefined : r;
    } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
    }
}
