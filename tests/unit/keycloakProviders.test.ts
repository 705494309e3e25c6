// The keycloak:* dynamic providers without a Keycloak: the admin endpoint (its checks, the tunnel
// seam, one login per URL and client, tokens renewed), each resource's checks (the field, the
// value, the fix), its diff (what updates, what replaces) and its read mapping (live
// representation → outputs, so refresh sees drift), and the PlatformRealm graph under mocks.
import * as http from "http";
import type { AddressInfo } from "net";
import * as pulumi from "@pulumi/pulumi";
import { adminClient, adminEndpointProblems, adminError, AdminEndpoint, forgetAdminClients, keycloakMessage, resolveAdminUrl, tokenFailure } from "../../providers/keycloak/admin";
import { PROVIDER_VERSION, UNKNOWN } from "../../providers/keycloak/common";
import { passwordPolicyProblems, realmCheckFailures, realmDiff, realmFieldsFromLive, RealmOutputs, realmOutputsFromLive, renderRealm, REALM_DEFAULTS, withRealmDefaults } from "../../providers/keycloak/realm";
import { reconcile, roleCheckFailures, roleDiff, RoleOutputs, roleOutputsFromLive } from "../../providers/keycloak/role";
import { groupCheckFailures, groupDiff, GroupOutputs, groupOutputsFromLive, normalizeGroup } from "../../providers/keycloak/group";
import { clientCheckFailures, redirectUriProblem } from "../../providers/keycloak/clientCheck";
import {
    clientDiff,
    clientFieldsFromLive,
    ClientOutputs,
    clientOutputsFromLive,
    normalizeClient,
    renderClient,
    ROLES_MAPPER,
    rolesClaimFromLive,
    rolesMapper,
} from "../../providers/keycloak/client";
import { normalizeUser, userCheckFailures, userDiff, userFieldsFromLive, userOutputs, UserOutputs } from "../../providers/keycloak/user";
import { DEFAULT_ROLES, PlatformRealm, platformRealmProblems } from "../../components/stacks/identity/realm";
import { installMocks, Registered, valueOf } from "./mocks";

const admin: AdminEndpoint = { url: "http://127.0.0.1:18080", clientId: "swarm-etl-admin", clientSecret: "s3cret-admin" };
const scoped = { admin, realm: "platform", providerVersion: PROVIDER_VERSION };
const reasons = (f: { reason: string }[]) => f.map((x) => x.reason);

describe("the admin endpoint", () => {
    test("a good endpoint passes; a bad URL, a URL with /admin, an empty client or secret fail with the fix", () => {
        expect(adminEndpointProblems(admin)).toEqual([]);
        expect(adminEndpointProblems({ url: "keycloak:8080", clientId: "", clientSecret: "" })).toEqual([
            'admin.url "keycloak:8080" is not an http(s) URL; fix: Keycloak\'s base URL, e.g. http://identity-keycloak:8080',
            'admin.clientId "" is not a client id; fix: the master realm\'s bootstrap service account, e.g. swarm-etl-admin',
            "admin.clientSecret is empty; fix: the service account's secret (the Keycloak component's adminClientSecret)",
        ]);
        expect(adminEndpointProblems({ ...admin, url: "http://kc:8080/auth/" })).toEqual([
            'admin.url "http://kc:8080/auth/" ends in /auth/; fix: Keycloak\'s base URL without /admin (and without /auth since Keycloak 17), e.g. http://kc:8080',
        ]);
    });

    test("a direct URL resolves to itself; with a tunnel, to one local end per service and port for the process (the lab suite drives it)", async () => {
        expect(await resolveAdminUrl({ ...admin, url: "http://kc:8080/" })).toBe("http://kc:8080");
        const mgr1 = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" };
        const tunnel = { connection: mgr1, privateKey: "KEY", nodeConnections: { mgr1 } };
        const local = await resolveAdminUrl({ ...admin, url: "http://identity-keycloak:8080", tunnel });
        expect(local).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(await resolveAdminUrl({ ...admin, url: "http://identity-keycloak:8080/", tunnel })).toBe(local);
        expect(await resolveAdminUrl({ ...admin, url: "http://identity-keycloak:9000", tunnel })).not.toBe(local);
    });

    test("a refused token names the client, Keycloak's words and the fix", () => {
        expect(tokenFailure("http://kc:8080", admin, 401, '{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}')).toBe(
            "Keycloak at http://kc:8080 refused a token for the admin client swarm-etl-admin of realm master (401 invalid_client: Invalid client or Invalid client credentials); " +
                "fix: check admin.clientId and admin.clientSecret; the bootstrap admin client exists only if Keycloak's first start on an empty database had KC_BOOTSTRAP_ADMIN_CLIENT_ID and its secret",
        );
        expect(tokenFailure("http://kc:8080", admin, 404, '{"error":"Realm does not exist"}')).toMatch(/\(404 Realm does not exist\); fix: admin.url must be Keycloak's base URL/);
        expect(tokenFailure("http://kc:8080", admin, 400, '{"error":"unauthorized_client"}')).toMatch(/fix: the client needs a service account/);
    });

    test("a failed call: status and Keycloak's message; 403 says which role the service account lacks; no answer says why", () => {
        const failed = (status: number, responseData: unknown) => Object.assign(new Error("x"), { response: { status }, responseData });
        expect(keycloakMessage(failed(409, { errorMessage: "Role with name analyst already exists" }))).toBe("409 Role with name analyst already exists");
        expect(adminError("creating role x in realm platform", failed(403, { error: "unknown_error" })).message).toBe(
            "creating role x in realm platform failed: 403 unknown_error; fix: the admin client's service account needs the master realm's admin role",
        );
        expect(adminError("reading", Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })).message).toBe("reading failed: ECONNREFUSED");
    });

    describe("one login per URL and client, against a token endpoint", () => {
        let server: http.Server;
        let url: string;
        const seen: { path: string; auth?: string; body: string }[] = [];
        let expiresIn = 300;
        let n = 0;
        beforeAll(async () => {
            server = http.createServer((req, res) => {
                let body = "";
                req.on("data", (c) => (body += c));
                req.on("end", () => {
                    seen.push({ path: req.url!, auth: req.headers.authorization, body });
                    if (req.url === "/realms/master/protocol/openid-connect/token") {
                        const ok = new URLSearchParams(body).get("client_secret") === "s3cret-admin";
                        res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
                        res.end(JSON.stringify(ok ? { access_token: `token-${++n}`, expires_in: expiresIn } : { error: "invalid_client", error_description: "Invalid client credentials" }));
                    } else {
                        res.writeHead(200, { "content-type": "application/json" });
                        res.end(JSON.stringify([{ id: "r1", name: "analyst" }]));
                    }
                });
            });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        });
        afterAll(() => {
            forgetAdminClients();
            server.close();
        });
        const tokens = () => seen.filter((s) => s.path.endsWith("/token"));

        test("two calls share one login; the API calls carry its token; a wrong secret fails with the fix and is not cached", async () => {
            const a = await adminClient({ ...admin, url });
            const b = await adminClient({ ...admin, url: `${url}/` });
            expect(a).toBe(b);
            expect(tokens()).toHaveLength(1);
            expect(new URLSearchParams(tokens()[0].body).get("grant_type")).toBe("client_credentials");
            expect(await a.roles.find({ realm: "platform" })).toEqual([{ id: "r1", name: "analyst" }]);
            expect(seen[seen.length - 1]).toMatchObject({ path: "/admin/realms/platform/roles", auth: "Bearer token-1" });

            await expect(adminClient({ ...admin, url, clientSecret: "wrong" })).rejects.toThrow(`Keycloak at ${url} refused a token for the admin client swarm-etl-admin of realm master (401 invalid_client: Invalid client credentials)`);
            await expect(adminClient({ ...admin, url, clientSecret: "wrong" })).rejects.toThrow(/refused a token/);
            expect(tokens()).toHaveLength(3);
        });

        test("a token about to expire is renewed with a new client credentials grant (there is no refresh token)", async () => {
            forgetAdminClients();
            expiresIn = 5; // inside the 10 s margin: every call renews
            const kc = await adminClient({ ...admin, url });
            const before = tokens().length;
            await kc.roles.find({ realm: "platform" });
            expect(tokens().length).toBe(before + 1);
            expect(seen[seen.length - 1].auth).toBe(`Bearer token-${n}`);
            expiresIn = 300;
        });

        test("nothing listening: the error names the URL and what to check", async () => {
            forgetAdminClients();
            const closed = http.createServer();
            await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
            const port = (closed.address() as AddressInfo).port;
            await new Promise((r) => closed.close(r));
            await expect(adminClient({ ...admin, url: `http://127.0.0.1:${port}` })).rejects.toThrow(
                `cannot reach Keycloak at http://127.0.0.1:${port}: ECONNREFUSED; fix: is it running, and does this machine reach admin.url (inside the swarm, or through the SSH transport)?`,
            );
        });
    });
});

describe("keycloak:Realm", () => {
    const inputs = withRealmDefaults({ ...scoped, realm: "platform", displayName: "Data platform" });
    const outs: RealmOutputs = { ...inputs, realmId: "rid-1" };

    test("defaults: the policy, brute force on with 5 failures, short tokens; a partial bruteForce keeps the other defaults", () => {
        expect(inputs).toMatchObject({ passwordPolicy: "length(12) and notUsername and notEmail and passwordHistory(3)", sslRequired: "external", accessTokenLifespan: 300, registrationAllowed: false });
        expect(inputs.bruteForce).toEqual({ ...REALM_DEFAULTS.bruteForce, enabled: true, failureFactor: 5 });
        expect(withRealmDefaults({ ...scoped, bruteForce: { failureFactor: 3 } as never }).bruteForce).toEqual({ ...REALM_DEFAULTS.bruteForce, failureFactor: 3 });
        expect(realmCheckFailures(inputs)).toEqual([]);
    });

    test("bad settings: each with the value and the fix", () => {
        expect(reasons(realmCheckFailures({ ...inputs, realm: "master" }))).toEqual([`realm "master" holds Keycloak's own administrators and is not managed here; fix: use a realm of your own, e.g. "platform"`]);
        expect(reasons(realmCheckFailures({ ...inputs, realm: "my realm" }))).toEqual(['realm "my realm" is not a realm name: use letters, digits and - _ . (at most 100), e.g. "platform"']);
        expect(
            reasons(realmCheckFailures({ ...inputs, ssoSessionIdleTimeout: 7200, ssoSessionMaxLifespan: 3600, accessTokenLifespan: 0, sslRequired: "some" as never, bruteForce: { ...inputs.bruteForce, failureFactor: 0 } })),
        ).toEqual([
            'sslRequired "some" is not all, external or none; fix: external (TLS ends at the edge)',
            "accessTokenLifespan must be a whole number of seconds above 0, got 0",
            "ssoSessionIdleTimeout 7200 s is longer than ssoSessionMaxLifespan 3600 s, so it never applies; fix: make it shorter",
            "bruteForce.failureFactor must be a whole number of failures above 0, got 0; fix: e.g. 5",
        ]);
        expect(reasons(realmCheckFailures({ ...inputs, accessTokenLifespan: 1800 }))).toEqual([
            "accessTokenLifespan 1800 s is not shorter than ssoSessionIdleTimeout 1800 s: a token would outlive its session; fix: e.g. 300",
        ]);
    });

    test("the password policy: its syntax and Keycloak's policy names", () => {
        expect(passwordPolicyProblems("length(12) and notUsername and digits(1)")).toEqual([]);
        expect(passwordPolicyProblems("")).toEqual([]);
        expect(passwordPolicyProblems("length(12) and minLength(3) and upper case")).toEqual([
            'passwordPolicy: "minLength" is not a Keycloak password policy; use one of length, maxLength, digits, lowerCase, upperCase, specialChars, notUsername, notEmail, notContainsUsername, regexPattern, passwordHistory, passwordAge, forceExpiredPasswordChange, hashAlgorithm, hashIterations, passwordBlacklist, maxAuthAge',
            'passwordPolicy term "upper case" is not name or name(value); fix: join terms with " and ", e.g. "length(12) and notUsername and notEmail and passwordHistory(3)"',
        ]);
    });

    test("values not known yet (preview) are not checked", () => {
        expect(realmCheckFailures({ ...inputs, realm: UNKNOWN, admin: UNKNOWN as never, passwordPolicy: UNKNOWN })).toEqual([]);
    });

    test("render and read are inverse: the live representation of what was asked reads back as the same fields", () => {
        const { admin: _a, providerVersion: _p, ...fields } = inputs;
        expect(realmFieldsFromLive({ id: "rid-1", ...renderRealm(inputs) })).toEqual(fields);
        expect(renderRealm(inputs)).toMatchObject({ bruteForceProtected: true, failureFactor: 5, passwordPolicy: inputs.passwordPolicy });
    });

    test("read: a policy or brute force changed in the console is what the outputs hold; a display name removed there goes", () => {
        const live = { ...renderRealm(inputs), id: "rid-1", displayName: "", passwordPolicy: "length(8)", bruteForceProtected: false, failureFactor: 30 };
        const read = realmOutputsFromLive(outs, live);
        expect(read).toMatchObject({ passwordPolicy: "length(8)", bruteForce: { enabled: false, failureFactor: 30 }, realmId: "rid-1", admin });
        expect("displayName" in read).toBe(false);
        expect(realmDiff(read, inputs)).toEqual({ changes: true, replaces: [], updates: ["displayName", "passwordPolicy", "bruteForce"] });
    });

    test("diff: a setting updates in place; a new name replaces; a rotated admin secret only updates the stored endpoint", () => {
        expect(realmDiff(outs, inputs)).toEqual({ changes: false, replaces: [], updates: [] });
        expect(realmDiff(outs, { ...inputs, ssoSessionIdleTimeout: 900 })).toEqual({ changes: true, replaces: [], updates: ["ssoSessionIdleTimeout"] });
        expect(realmDiff(outs, { ...inputs, realm: "platform2" }).replaces).toEqual(["realm"]);
        expect(realmDiff(outs, { ...inputs, admin: { ...admin, clientSecret: "new" } })).toEqual({ changes: true, replaces: [], updates: ["admin"] });
        expect(realmDiff(outs, { ...inputs, admin: { ...admin, url: "http://identity-keycloak:8080" } })).toEqual({ changes: true, replaces: [], updates: ["admin"] });
    });
});

describe("keycloak:RealmRole", () => {
    const role = { ...scoped, name: "analyst", description: "Queries the warehouse" };
    const outs: RoleOutputs = { ...role, roleId: "role-1" };

    test("bad names and Keycloak's own roles are refused with the fix", () => {
        expect(roleCheckFailures(role)).toEqual([]);
        expect(reasons(roleCheckFailures({ ...role, name: "data engineer" }))).toEqual(['role name "data engineer" is not valid: use letters, digits and - _ . : (no spaces, no slashes), e.g. "data-engineer"']);
        expect(reasons(roleCheckFailures({ ...role, name: "offline_access" }))).toEqual(["role offline_access is one Keycloak makes in every realm itself; fix: choose another name"]);
        expect(reasons(roleCheckFailures({ ...role, name: "default-roles-platform" }))).toEqual(["role default-roles-platform is one Keycloak makes in every realm itself; fix: choose another name"]);
    });

    test("read maps the live role; a rename is an update in place, another realm a replace", () => {
        const read = roleOutputsFromLive(outs, { id: "role-1", name: "analysts", description: "" });
        expect(read).toEqual({ ...scoped, name: "analysts", roleId: "role-1" });
        expect(roleDiff(read, role)).toEqual({ changes: true, replaces: [], updates: ["name", "description"] });
        expect(roleDiff(outs, { ...role, realm: "other" })).toEqual({ changes: true, replaces: ["realm"], updates: [] });
    });

    test("reconcile: what to add and what to take away", () => {
        expect(reconcile(["viewer", "analyst", "extra"], ["analyst", "data-engineer"])).toEqual({ add: ["data-engineer"], remove: ["extra", "viewer"] });
        expect(reconcile([], [])).toEqual({ add: [], remove: [] });
    });
});

describe("keycloak:Group", () => {
    const group = normalizeGroup({ ...scoped, name: "data-engineer", realmRoles: ["viewer", "data-engineer", "viewer"] });
    const outs: GroupOutputs = { ...group, groupId: "g-1", path: "/data-engineer" };

    test("roles are a sorted set; bad names and role lists are refused", () => {
        expect(group.realmRoles).toEqual(["data-engineer", "viewer"]);
        expect(groupCheckFailures(group)).toEqual([]);
        expect(reasons(groupCheckFailures({ ...group, name: "a/b", realmRoles: ["", 3 as never] }))).toEqual([
            'group name "a/b" is not valid: a non-empty name without "/" (a group\'s path is /<name>), e.g. "data-engineer"',
            'realmRoles must be a list of role names, got ["",3]; fix: e.g. ["analyst"]',
        ]);
    });

    test("a role removed from the group in the console: read shows it, diff updates realmRoles", () => {
        const read = groupOutputsFromLive(outs, { id: "g-1", name: "data-engineer", path: "/data-engineer" }, { realmMappings: [{ name: "viewer" }] });
        expect(read.realmRoles).toEqual(["viewer"]);
        expect(read.clientRoles).toEqual({});
        expect(groupDiff(read, group)).toEqual({ changes: true, replaces: [], updates: ["realmRoles"] });
        expect(groupDiff(outs, group).changes).toBe(false);
    });

    test("client roles: a sorted set per clientId, empty lists dropped; a bad map is refused with the fix", () => {
        const admins = normalizeGroup({ ...scoped, name: "platform-admin", realmRoles: ["platform-admin"], clientRoles: { "realm-management": ["realm-admin", "realm-admin"], "z-ui": [], account: ["view-profile"] } });
        expect(admins.clientRoles).toEqual({ account: ["view-profile"], "realm-management": ["realm-admin"] });
        expect(Object.keys(admins.clientRoles!)).toEqual(["account", "realm-management"]);
        expect(groupCheckFailures(admins)).toEqual([]);
        for (const bad of [["realm-admin"], { "realm-management": "realm-admin" }, { "": ["x"] }, { "realm-management": [""] }]) {
            // As check() sees it: normalized first, a malformed map left as it came.
            expect(reasons(groupCheckFailures(normalizeGroup({ ...admins, clientRoles: bad as never })))).toEqual([
                `clientRoles must map clientIds to lists of role names, got ${JSON.stringify(bad)}; fix: e.g. {"realm-management": ["realm-admin"]}`,
            ]);
        }
    });

    test("a client role given to the group in the console (realm-admin to an analyst group): read shows it, diff updates clientRoles; a state from before clientRoles is no change", () => {
        const live = { realmMappings: [{ name: "data-engineer" }, { name: "viewer" }], clientMappings: { "realm-management": { id: "c-1", client: "realm-management", mappings: [{ id: "r-1", name: "realm-admin" }] } } };
        const read = groupOutputsFromLive(outs, { id: "g-1", name: "data-engineer", path: "/data-engineer" }, live);
        expect(read.clientRoles).toEqual({ "realm-management": ["realm-admin"] });
        expect(groupDiff(read, group)).toEqual({ changes: true, replaces: [], updates: ["clientRoles"] });
        const { clientRoles: _none, ...before } = outs;
        expect(groupDiff(before as GroupOutputs, group).changes).toBe(false);
    });
});

describe("keycloak:Client", () => {
    const client = normalizeClient({ ...scoped, clientId: "airflow", rootUrl: "https://airflow.example.com", redirectUris: ["https://airflow.example.com/oauth2/callback"], allowedRoles: ["data-engineer", "platform-admin"] });
    const mapper = { id: "m-1", ...rolesMapper("roles") };
    const outs: ClientOutputs = { ...client, clientUuid: "c-1", clientSecret: "generated" };

    test("defaults: confidential, standard flow, PKCE, no password grant, web origins +, a roles claim", () => {
        expect(client).toMatchObject({ enabled: true, pkce: true, directAccessGrants: false, webOrigins: ["+"], postLogoutRedirectUris: [], rolesClaim: "roles", confidential: true, standardFlow: true });
        expect(normalizeClient({ ...client, confidential: false, standardFlow: false })).toMatchObject({ confidential: true, standardFlow: true });
        expect(clientCheckFailures(client)).toEqual([]);
    });

    test("redirect URIs: absolute, or relative to rootUrl; a * only at the end and after a path", () => {
        expect(redirectUriProblem("https://airflow.example.com/oauth2/callback", undefined)).toBeUndefined();
        expect(redirectUriProblem("https://airflow.example.com/*", undefined)).toBeUndefined();
        expect(redirectUriProblem("/oauth2/callback", "https://airflow.example.com")).toBeUndefined();
        expect(redirectUriProblem("/oauth2/callback", undefined)).toBe(
            'redirectUris: "/oauth2/callback" is relative but the client has no rootUrl; fix: set rootUrl (e.g. https://airflow.example.com) or give the full URL, e.g. https://airflow.example.com/oauth2/callback',
        );
        expect(redirectUriProblem("*", undefined)).toBe('redirectUris: "*" is not an http(s) URL or a path; fix: e.g. https://airflow.example.com/oauth2/callback');
        expect(redirectUriProblem("https://*.example.com/cb", undefined)).toBe('redirectUris: "https://*.example.com/cb" has a * before its end; Keycloak allows one only as the last character; fix: e.g. https://airflow.example.com/oauth2/callback');
        expect(redirectUriProblem("https://airflow.example.com*", undefined)).toBe(
            'redirectUris: "https://airflow.example.com*" lets any path of any host beginning so receive login codes; fix: end the wildcard after a path, e.g. https://airflow.example.com/oauth2/callback',
        );
    });

    test("bad clients: each problem with the field, the value and the fix", () => {
        expect(reasons(clientCheckFailures(normalizeClient({ ...scoped, clientId: "admin-cli", redirectUris: [], webOrigins: ["*", "https://a.example.com/x"], allowedRoles: ["a b"], rolesClaim: "sub" })))).toEqual([
            "client admin-cli is one Keycloak makes in every realm itself; fix: choose another clientId, e.g. the UI's name",
            'redirectUris must list the UI\'s callback URLs, got []; fix: e.g. ["https://airflow.example.com/oauth2/callback"]',
            'webOrigins: "*" lets scripts of any site call with the user\'s tokens; fix: "+" (the redirect URIs\' origins) or the UI\'s origin, e.g. https://airflow.example.com',
            'webOrigins: "https://a.example.com/x" is not an origin (scheme://host[:port], no path) or "+"; fix: e.g. https://airflow.example.com',
            'allowedRoles must be a list of realm role names, got ["a b"]; fix: e.g. ["platform-admin", "data-engineer"], or leave it out for all roles',
            'rolesClaim "sub" is not a claim name of its own (letters, digits, _; not sub, iss, aud, exp, iat, nbf, azp, scope, sid, typ, realm_access, resource_access); fix: "roles" (oauth2-proxy: --oidc-groups-claim=roles)',
        ]);
    });

    test("render and read are inverse, with the mapper and the scope mappings", () => {
        const rep = renderClient(client);
        expect(rep).toMatchObject({ publicClient: false, standardFlowEnabled: true, implicitFlowEnabled: false, directAccessGrantsEnabled: false, fullScopeAllowed: false, attributes: { "pkce.code.challenge.method": "S256" } });
        const { admin: _a, realm: _r, providerVersion: _p, ...fields } = client;
        expect(clientFieldsFromLive({ id: "c-1", ...rep } as never, [mapper], [{ name: "platform-admin" }, { name: "data-engineer" }])).toEqual(fields);
        expect(renderClient({ ...client, allowedRoles: undefined }).fullScopeAllowed).toBe(true);
    });

    test("the roles claim reads as gone when the mapper is deleted or altered in the console", () => {
        expect(rolesClaimFromLive([mapper])).toBe("roles");
        expect(rolesClaimFromLive([])).toBe("");
        expect(rolesClaimFromLive([{ ...mapper, config: { ...mapper.config, "id.token.claim": "false" } }])).toBe("");
        expect(rolesClaimFromLive([{ ...mapper, name: "other" }])).toBe("");
        expect(ROLES_MAPPER).toBe("swarm-etl realm roles");
    });

    test("a redirect URI changed and full scope turned on in the console: read shows both, diff updates them; the secret follows Keycloak", () => {
        const live = { ...renderClient(client), id: "c-1", redirectUris: ["https://evil.example.com/cb"], fullScopeAllowed: true };
        const read = clientOutputsFromLive(outs, live as never, [mapper], [], "regenerated");
        expect(read).toMatchObject({ redirectUris: ["https://evil.example.com/cb"], clientSecret: "regenerated", rootUrl: "https://airflow.example.com" });
        expect(read.allowedRoles).toBeUndefined();
        expect(clientDiff(read, client)).toEqual({ changes: true, replaces: [], updates: ["redirectUris", "allowedRoles"] });
        expect(clientDiff(outs, { ...client, clientId: "airflow-ui" })).toEqual({ changes: true, replaces: [], updates: ["clientId"] });
        expect(clientDiff(outs, { ...client, realm: "other" }).replaces).toEqual(["realm"]);
    });
});

describe("keycloak:User", () => {
    const user = normalizeUser({ ...scoped, username: "alice", email: "alice@example.com", firstName: "Alice", groups: ["viewer", "analyst"], initialPassword: "Temporary-Pass-1" });
    const outs: UserOutputs = userOutputs(user, "u-1");

    test("defaults, and the outputs never hold the initial password", () => {
        expect(user).toMatchObject({ enabled: true, emailVerified: true, groups: ["analyst", "viewer"] });
        expect(outs).toEqual({ ...scoped, username: "alice", email: "alice@example.com", firstName: "Alice", enabled: true, emailVerified: true, groups: ["analyst", "viewer"], userId: "u-1" });
        expect(JSON.stringify(outs)).not.toContain("Temporary-Pass-1");
    });

    test("capitals (Keycloak lowers them), a bad address, bad groups and an empty password are refused, never echoing it", () => {
        expect(userCheckFailures(user)).toEqual([]);
        expect(reasons(userCheckFailures({ ...user, username: "Alice", email: "Alice@Example.com", groups: ["a/b"], initialPassword: "" }))).toEqual([
            'username "Alice" has capitals, and Keycloak stores usernames in lower case (it would read back as "alice"); fix: "alice"',
            'email "Alice@Example.com" has capitals, and Keycloak stores addresses in lower case; fix: "alice@example.com"',
            'groups must be a list of top-level group names, got ["a/b"]; fix: e.g. ["analyst"]',
            "initialPassword is empty; fix: a temporary password that meets the realm's password policy (the user replaces it at the first login)",
        ]);
        expect(reasons(userCheckFailures({ ...user, email: "alice" }))).toEqual(['email "alice" is not an email address; fix: e.g. "alice@example.com"']);
        expect(userCheckFailures({ ...user, initialPassword: UNKNOWN })).toEqual([]);
    });

    test("taken out of a group in the console: read shows it, diff updates the groups; a new initial password changes nothing", () => {
        const live = userFieldsFromLive({ id: "u-1", username: "alice", email: "alice@example.com", firstName: "Alice", enabled: true, emailVerified: true }, [{ name: "viewer", path: "/viewer" }]);
        expect(live.groups).toEqual(["viewer"]);
        expect(userDiff({ ...outs, ...live }, user)).toEqual({ changes: true, replaces: [], updates: ["groups"] });
        expect(userDiff(outs, { ...user, initialPassword: "Another-Pass-2" })).toEqual({ changes: false, replaces: [], updates: [] });
    });

    test("a new username replaces the user", () => {
        expect(userDiff(outs, { ...user, username: "alice2" })).toEqual({ changes: true, replaces: ["username"], updates: [] });
    });
});

describe("PlatformRealm", () => {
    test("bad args: duplicates and references to roles and groups not declared, each with its fix", () => {
        expect(platformRealmProblems({ admin })).toEqual([]);
        expect(
            platformRealmProblems({
                admin,
                realm: "master",
                roles: [{ name: "viewer" }, { name: "viewer" }],
                groups: [{ name: "ops", roles: ["operator"] }],
                clients: [{ clientId: "grafana", redirectUris: ["https://g.example.com/oauth2/callback"], allowedRoles: ["analyst"] }],
                users: [{ username: "bob", groups: ["analyst"], initialPassword: "x" }],
            }),
        ).toEqual([
            `realm "master" holds Keycloak's own administrators; fix: use a realm of your own, e.g. "platform"`,
            "roles: viewer is declared more than once; fix: keep one",
            "groups[0] (ops): role operator is not among roles (viewer, viewer); fix: add it to roles, or remove it from the group",
            "clients[0] (grafana): allowed role analyst is not among roles (viewer, viewer); fix: add it to roles, or remove it from allowedRoles",
            "users[0] (bob): group analyst is not among groups (ops); fix: add it to groups, or remove it from the user",
        ]);
    });

    describe("under mocks", () => {
        let registered: Registered[];
        let pr: PlatformRealm;
        beforeAll(async () => {
            registered = installMocks();
            pr = new PlatformRealm("identity", {
                admin,
                clients: [{ clientId: "airflow", rootUrl: "https://airflow.example.com", redirectUris: ["/oauth2/callback"], allowedRoles: ["platform-admin", "data-engineer"] }],
                users: [{ username: "alice", email: "alice@example.com", groups: ["data-engineer"], initialPassword: "Temporary-Pass-1" }],
            });
            const children = [pr.realm, ...Object.values(pr.roles), ...Object.values(pr.groups), ...Object.values(pr.clients), ...Object.values(pr.users)];
            await valueOf(pulumi.all([pr.urn, ...children.map((c) => c.urn)]));
        });
        const one = (name: string) => registered.find((r) => r.name === name)!;

        test("the realm, the four roles, a group per role carrying it, the client and the user, with exact types and names", () => {
            // Registered as their providers finish serializing: compared in sorted order.
            const byName = (a: string[], b: string[]) => (a[1] < b[1] ? -1 : 1);
            expect(registered.map((r) => [r.type, r.name]).sort(byName)).toEqual(
                [
                ["swarm:stacks:PlatformRealm", "identity"],
                ["pulumi-nodejs:dynamic/keycloak:Realm", "identity-realm"],
                ...DEFAULT_ROLES.map((r) => ["pulumi-nodejs:dynamic/keycloak:RealmRole", `identity-role-${r.name}`]),
                ...DEFAULT_ROLES.map((r) => ["pulumi-nodejs:dynamic/keycloak:Group", `identity-group-${r.name}`]),
                ["pulumi-nodejs:dynamic/keycloak:Client", "identity-client-airflow"],
                ["pulumi-nodejs:dynamic/keycloak:User", "identity-user-alice"],
                ].sort(byName),
            );
            expect(one("identity-realm").inputs).toMatchObject({ realm: "platform", displayName: "Data platform", providerVersion: PROVIDER_VERSION });
            expect(one("identity-role-viewer").inputs).toMatchObject({ realm: "platform", name: "viewer", description: "Reads dashboards and job status" });
            expect(one("identity-group-analyst").inputs).toMatchObject({ realm: "platform", name: "analyst", realmRoles: ["analyst"], clientRoles: {} });
            // The platform admins also administer the realm: its admin console, with every right in it.
            expect(one("identity-group-platform-admin").inputs).toMatchObject({ realmRoles: ["platform-admin"], clientRoles: { "realm-management": ["realm-admin"] } });
            expect(one("identity-client-airflow").inputs).toMatchObject({ clientId: "airflow", rootUrl: "https://airflow.example.com", redirectUris: ["/oauth2/callback"], allowedRoles: ["platform-admin", "data-engineer"] });
            expect(one("identity-user-alice").inputs).toMatchObject({ username: "alice", email: "alice@example.com", groups: ["data-engineer"] });
        });

        test("the admin endpoint and the initial password are sent as secrets; the serialized providers capture neither, and load the admin client at run time", () => {
            const secret = (v: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: v });
            for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/keycloak:"))) {
                expect(r.inputs.admin).toEqual(secret(admin));
                const code = r.inputs.__provider as string;
                expect(code).toContain('nodeRequire("@keycloak/keycloak-admin-client")');
                expect(code).not.toContain(admin.clientSecret);
                expect(code).not.toContain("Temporary-Pass-1");
            }
            expect(one("identity-user-alice").inputs.initialPassword).toEqual(secret("Temporary-Pass-1"));
        });

        test("a serialized provider loads on its own (as the engine's dynamic provider host loads it) and checks its inputs", async () => {
            // The engine's dynamic provider host loads the text with require-from-string (a dependency of @pulumi/pulumi).
            const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] })) as (code: string) => { handler: () => pulumi.dynamic.ResourceProvider };
            const provider = requireFromString(one("identity-role-viewer").inputs.__provider as string).handler();
            const news = { ...scoped, name: "bad name" };
            expect((await provider.check!({}, news)).failures).toEqual([{ property: "name", reason: 'role name "bad name" is not valid: use letters, digits and - _ . : (no spaces, no slashes), e.g. "data-engineer"' }]);
        });

        test("the client secrets are outputs by clientId; bad args stop the program before any resource", async () => {
            expect(Object.keys(pr.clientSecrets)).toEqual(["airflow"]);
            expect(() => new PlatformRealm("bad", { admin, users: [{ username: "bob", groups: ["ops"], initialPassword: "x" }] })).toThrow(
                "PlatformRealm bad: users[0] (bob): group ops is not among groups (platform-admin, data-engineer, analyst, viewer); fix: add it to groups, or remove it from the user",
            );
            expect(registered.some((r) => r.name.startsWith("bad"))).toBe(false);
        });
    });
});
