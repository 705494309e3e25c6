// check() of keycloak:Client: the clientId, the redirect URIs (absolute or relative to rootUrl, a *
// only at the end and never one that lets other sites receive login codes), the web origins, the
// allowed roles and the roles claim, each problem with the field, the value and the fix. The
// client's fields live here (client.ts re-exports them), so the check needs nothing from client.ts.
import * as pulumi from "@pulumi/pulumi";
import { adminFailures, isUnknown, RealmScoped, realmFailures } from "./common";
import { ROLE_NAME_RE } from "./role";

export interface ClientFields {
    clientId: string;
    name?: string;
    description?: string;
    enabled: boolean;
    rootUrl?: string;
    baseUrl?: string;
    /** Sorted, like every list here (Keycloak keeps sets). */
    redirectUris: string[];
    webOrigins: string[];
    postLogoutRedirectUris: string[];
    /** The password grant (for scripts and tests; a UI never needs it). */
    directAccessGrants: boolean;
    /** Require PKCE (S256) on the code flow. */
    pkce: boolean;
    /** The realm roles in the client's scope; undefined: all of them (full scope). */
    allowedRoles?: string[];
    /** The claim the roles mapper writes; "" reads back when the mapper is gone or altered. */
    rolesClaim: string;
    /** Always true here: a confidential client (it has a secret). Read back, so a change in the console is drift. */
    confidential: boolean;
    /** Always true here: the authorization code flow. Read back likewise. */
    standardFlow: boolean;
}

export interface ClientInputs extends RealmScoped, ClientFields {}

/** Clients Keycloak makes in every realm itself. */
export const BUILT_IN_CLIENTS = ["account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"];
const CLIENT_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,254}$/;
const CLAIM_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_CLAIMS = ["sub", "iss", "aud", "exp", "iat", "nbf", "azp", "scope", "sid", "typ", "realm_access", "resource_access"];

export const httpUrl = (s: string): URL | undefined => {
    try {
        const u = new URL(s);
        return ["http:", "https:"].includes(u.protocol) ? u : undefined;
    } catch {
        return undefined;
    }
};

/** A redirect URI Keycloak would accept and that cannot send codes to other sites. */
export function redirectUriProblem(uri: unknown, rootUrl: string | undefined, property = "redirectUris"): string | undefined {
    const example = "e.g. https://airflow.example.com/oauth2/callback";
    if (typeof uri !== "string" || uri === "") return `${property}: ${JSON.stringify(uri)} is not a URI; fix: the UI's callback URL, ${example}`;
    if (uri.indexOf("*") >= 0 && uri.indexOf("*") !== uri.length - 1) return `${property}: ${JSON.stringify(uri)} has a * before its end; Keycloak allows one only as the last character; fix: ${example}`;
    const bare = uri.endsWith("*") ? uri.slice(0, -1) : uri;
    if (bare.startsWith("/")) return rootUrl ? undefined : `${property}: ${JSON.stringify(uri)} is relative but the client has no rootUrl; fix: set rootUrl (e.g. https://airflow.example.com) or give the full URL, ${example}`;
    const u = httpUrl(bare);
    if (!u) return `${property}: ${JSON.stringify(uri)} is not an http(s) URL or a path; fix: ${example}`;
    if (uri.endsWith("*") && u.pathname === "/" && !bare.endsWith("/")) return `${property}: ${JSON.stringify(uri)} lets any path of any host beginning so receive login codes; fix: end the wildcard after a path, ${example}`;
    return undefined;
}

export function clientCheckFailures(news: ClientInputs): pulumi.dynamic.CheckFailure[] {
    const f = [...adminFailures(news.admin), ...realmFailures(news.realm)];
    if (!isUnknown(news.clientId)) {
        if (typeof news.clientId !== "string" || !CLIENT_ID_RE.test(news.clientId)) {
            f.push({ property: "clientId", reason: `clientId ${JSON.stringify(news.clientId)} is not valid: use letters, digits and - _ . : (no spaces), e.g. "airflow"` });
        } else if (BUILT_IN_CLIENTS.includes(news.clientId)) {
            f.push({ property: "clientId", reason: `client ${news.clientId} is one Keycloak makes in every realm itself; fix: choose another clientId, e.g. the UI's name` });
        }
    }
    const rootUrl = isUnknown(news.rootUrl) ? "unknown" : news.rootUrl;
    if (news.rootUrl !== undefined && !isUnknown(news.rootUrl) && (typeof news.rootUrl !== "string" || !httpUrl(news.rootUrl))) {
        f.push({ property: "rootUrl", reason: `rootUrl ${JSON.stringify(news.rootUrl)} is not an http(s) URL; fix: the UI's public URL, e.g. https://airflow.example.com` });
    }
    if (!isUnknown(news.redirectUris)) {
        if (!Array.isArray(news.redirectUris) || news.redirectUris.length === 0) {
            f.push({ property: "redirectUris", reason: `redirectUris must list the UI's callback URLs, got ${JSON.stringify(news.redirectUris)}; fix: e.g. ["https://airflow.example.com/oauth2/callback"]` });
        } else {
            for (const u of news.redirectUris) {
                const p = redirectUriProblem(u, rootUrl);
                if (p) f.push({ property: "redirectUris", reason: p });
            }
        }
    }
    for (const u of isUnknown(news.postLogoutRedirectUris) ? [] : news.postLogoutRedirectUris ?? []) {
        const p = redirectUriProblem(u, rootUrl, "postLogoutRedirectUris");
        if (p) f.push({ property: "postLogoutRedirectUris", reason: p });
    }
    for (const o of isUnknown(news.webOrigins) ? [] : news.webOrigins ?? []) {
        if (o === "*") f.push({ property: "webOrigins", reason: `webOrigins: "*" lets scripts of any site call with the user's tokens; fix: "+" (the redirect URIs' origins) or the UI's origin, e.g. https://airflow.example.com` });
        else if (o !== "+" && (typeof o !== "string" || !httpUrl(o) || httpUrl(o)!.origin !== o)) {
            f.push({ property: "webOrigins", reason: `webOrigins: ${JSON.stringify(o)} is not an origin (scheme://host[:port], no path) or "+"; fix: e.g. https://airflow.example.com` });
        }
    }
    if (news.allowedRoles !== undefined && !isUnknown(news.allowedRoles)) {
        if (!Array.isArray(news.allowedRoles) || news.allowedRoles.some((r) => typeof r !== "string" || !ROLE_NAME_RE.test(r))) {
            f.push({ property: "allowedRoles", reason: `allowedRoles must be a list of realm role names, got ${JSON.stringify(news.allowedRoles)}; fix: e.g. ["platform-admin", "data-engineer"], or leave it out for all roles` });
        }
    }
    if (!isUnknown(news.rolesClaim) && (typeof news.rolesClaim !== "string" || !CLAIM_RE.test(news.rolesClaim) || RESERVED_CLAIMS.includes(news.rolesClaim))) {
        f.push({ property: "rolesClaim", reason: `rolesClaim ${JSON.stringify(news.rolesClaim)} is not a claim name of its own (letters, digits, _; not ${RESERVED_CLAIMS.join(", ")}); fix: "roles" (oauth2-proxy: --oidc-groups-claim=roles)` });
    }
    return f;
}

