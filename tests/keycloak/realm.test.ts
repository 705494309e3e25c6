// The realm as code against a real Keycloak (scripts/keycloak-local.sh), through the real engine:
// up makes the realm, its roles, groups, clients and users; a user gets no token before choosing
// their own password; drift made in the "console" (the admin API, directly) is seen by refresh and
// repaired by up; a deleted group or role is made again; program changes update in place; bad
// inputs and a refused password fail with their fix; no secret is in the state file in
// plaintext; destroy removes everything.
import { Stack } from "@pulumi/pulumi/automation";
import { PlatformRealm } from "../../components/stacks/identity/realm";
import { ROLES_MAPPER, UPDATE_PASSWORD } from "../../providers/keycloak";
import { forgetAdminClients } from "../../providers/keycloak/admin";
import { admin, changes, claims, endpoint, inlineStack, log, passwordGrant, stateFile } from "./harness";

const STACK = "kc-realm";
const REALM = "kc-test";
const run = Date.now().toString(36);
const PASSWORDS = { alice: `Initial-Alice-${run}`, bob: `Initial-Bob-${run}` };
const AIRFLOW_CALLBACK = "http://airflow.localhost:8080/oauth2/callback";

// What the program declares beyond the base; the tests change these between runs.
let airflowRedirects = [AIRFLOW_CALLBACK];
let extraUsers: { username: string; email: string; firstName: string; lastName: string; groups: string[]; initialPassword: string }[] = [];

async function program() {
    const pr = new PlatformRealm("kcr", {
        admin: endpoint(),
        realm: REALM,
        clients: [
            // directAccessGrants only so that the test can get tokens without a browser.
            { clientId: "airflow", rootUrl: "http://airflow.localhost:8080", redirectUris: airflowRedirects, allowedRoles: ["platform-admin", "data-engineer"], directAccessGrants: true },
            { clientId: "grafana", redirectUris: ["http://grafana.localhost:3000/oauth2/callback"], directAccessGrants: true },
        ],
        users: [
            { username: "alice", email: "alice@example.com", firstName: "Alice", lastName: "Liddell", groups: ["data-engineer"], initialPassword: PASSWORDS.alice },
            { username: "bob", email: "bob@example.com", firstName: "Bob", lastName: "Builder", groups: ["analyst"], initialPassword: PASSWORDS.bob },
            ...extraUsers,
        ],
    });
    return { realm: pr.realmName, secrets: pr.clientSecrets };
}

type Kc = Awaited<ReturnType<typeof admin>>;
const groupByName = async (kc: Kc, name: string) => (await kc.groups.find({ realm: REALM, search: name, exact: true })).find((g) => g.name === name);
const clientByClientId = async (kc: Kc, clientId: string) => (await kc.clients.find({ realm: REALM, clientId }))[0];
const groupRoles = async (kc: Kc, id: string) => (await kc.groups.listRealmRoleMappings({ realm: REALM, id })).map((r) => r.name).sort();
const groupClientRoles = async (kc: Kc, id: string) =>
    Object.fromEntries(Object.entries((await kc.groups.listRoleMappings({ realm: REALM, id })).clientMappings ?? {}).map(([c, m]) => [c, (m.mappings ?? []).map((r: { name?: string }) => r.name).sort()]));
const realmAdminRole = async (kc: Kc) => {
    const client = (await kc.clients.find({ realm: REALM, clientId: "realm-management" }))[0];
    const role = await kc.clients.findRole({ realm: REALM, id: client.id!, roleName: "realm-admin" });
    return { clientUniqueId: client.id!, roles: [{ id: role!.id!, name: role!.name! }] };
};
const userByName = async (kc: Kc, username: string) => (await kc.users.find({ realm: REALM, username, exact: true }))[0];
const resourceOf = async (stack: Stack, name: string) => (await stack.exportStack()).deployment.resources.find((r: { urn: string }) => r.urn.endsWith(`::${name}`));

describe("the realm as code against a real Keycloak, through the real engine", () => {
    let stack: Stack;
    let kc: Kc;
    let secrets: Record<string, string>;

    beforeAll(async () => {
        kc = await admin();
        stack = await inlineStack(STACK, program);
        await stack.destroy({ onOutput: log("kc-destroy-before") });
        // A realm left by an interrupted run outside the state.
        if (await kc.realms.findOne({ realm: REALM })) await kc.realms.del({ realm: REALM });
    });

    afterAll(async () => {
        if (stack) {
            await stack.destroy({ onOutput: log("kc-destroy") });
            await stack.workspace.removeStack(STACK);
        }
        forgetAdminClients();
    });

    test("up makes the realm (policy, brute force, lifespans), 4 roles, a group per role carrying it, 2 clients and 2 users", async () => {
        const up = await stack.up({ onOutput: log("kc-up") });
        // The stack, the component, the realm, 4 roles, 4 groups, 2 clients, 2 users.
        expect(changes(up.summary.resourceChanges)).toEqual({ create: 15 });
        secrets = up.outputs.secrets.value as Record<string, string>;

        const realm = await kc.realms.findOne({ realm: REALM });
        expect(realm).toMatchObject({
            displayName: "Data platform",
            passwordPolicy: "length(12) and notUsername and notEmail and passwordHistory(3)",
            bruteForceProtected: true,
            failureFactor: 5,
            accessTokenLifespan: 300,
            ssoSessionIdleTimeout: 1800,
            registrationAllowed: false,
        });
        const roles = (await kc.roles.find({ realm: REALM })).map((r) => r.name);
        expect(roles).toEqual(expect.arrayContaining(["platform-admin", "data-engineer", "analyst", "viewer"]));
        for (const name of ["platform-admin", "data-engineer", "analyst", "viewer"]) expect(await groupRoles(kc, (await groupByName(kc, name))!.id!)).toEqual([name]);
        // The platform admins administer the realm (its admin console); no other group holds a client role.
        for (const name of ["platform-admin", "data-engineer", "analyst", "viewer"]) {
            expect(await groupClientRoles(kc, (await groupByName(kc, name))!.id!)).toEqual(name === "platform-admin" ? { "realm-management": ["realm-admin"] } : {});
        }

        const airflow = await clientByClientId(kc, "airflow");
        expect(airflow).toMatchObject({ publicClient: false, standardFlowEnabled: true, implicitFlowEnabled: false, redirectUris: [AIRFLOW_CALLBACK], fullScopeAllowed: false });
        expect(airflow.attributes?.["pkce.code.challenge.method"]).toBe("S256");
        expect((await kc.clients.listRealmScopeMappings({ realm: REALM, id: airflow.id! })).map((r) => r.name).sort()).toEqual(["data-engineer", "platform-admin"]);
        expect((await kc.clients.listProtocolMappers({ realm: REALM, id: airflow.id! })).find((m) => m.name === ROLES_MAPPER)?.config?.["claim.name"]).toBe("roles");
        expect(secrets.airflow).toBe((await kc.clients.getClientSecret({ realm: REALM, id: airflow.id! })).value);

        const alice = await userByName(kc, "alice");
        expect(alice).toMatchObject({ email: "alice@example.com", firstName: "Alice", enabled: true, requiredActions: [UPDATE_PASSWORD] });
        expect((await kc.users.listGroups({ realm: REALM, id: alice.id! })).map((g) => g.name)).toEqual(["data-engineer"]);
    });

    test("refresh reads everything back unchanged, and preview shows no changes", async () => {
        const refresh = await stack.refresh({ onOutput: log("kc-refresh") });
        expect(changes(refresh.summary.resourceChanges)).toEqual({});
        const preview = await stack.preview({ onOutput: log("kc-preview") });
        expect(changes(preview.changeSummary)).toEqual({});
    });

    test("no token before the user chose their own password (UPDATE_PASSWORD); then the roles claim holds the roles the client allows", async () => {
        const airflow = { clientId: "airflow", secret: secrets.airflow };
        const before = await passwordGrant(REALM, airflow, "alice", PASSWORDS.alice);
        expect(before.status).toBe(400);
        expect(before.body).toMatchObject({ error: "invalid_grant", error_description: "Account is not fully set up" });

        // What the login page does when alice completes the required action: her own password, no actions left.
        for (const name of ["alice", "bob"] as const) {
            const u = await userByName(kc, name);
            await kc.users.resetPassword({ realm: REALM, id: u.id!, credential: { type: "password", value: `Own-${name}-password-${run}`, temporary: false } });
            expect((await kc.users.findOne({ realm: REALM, id: u.id! }))?.requiredActions).toEqual([]);
        }
        const alice = await passwordGrant(REALM, airflow, "alice", `Own-alice-password-${run}`);
        expect(alice.status).toBe(200);
        expect(claims(alice.body.id_token).roles).toEqual(["data-engineer"]);
        expect(claims(alice.body.access_token).roles).toEqual(["data-engineer"]);
        // bob (analyst) is not among airflow's allowed roles: no role in its tokens.
        const bob = await passwordGrant(REALM, airflow, "bob", `Own-bob-password-${run}`);
        expect(claims(bob.body.id_token).roles ?? []).toEqual([]);
        // grafana has full scope: all of bob's roles.
        const bobGrafana = await passwordGrant(REALM, { clientId: "grafana", secret: secrets.grafana }, "bob", `Own-bob-password-${run}`);
        expect(claims(bobGrafana.body.id_token).roles).toEqual(expect.arrayContaining(["analyst"]));
        expect(claims(bobGrafana.body.id_token).roles).not.toContain("data-engineer");

        // The passwords are never read back: nothing drifted.
        expect(changes((await stack.refresh({ onOutput: log("kc-refresh-pw") })).summary.resourceChanges)).toEqual({});
    });

    test("the realm's password policy and brute force, and a client's roles mapper, changed in the console: refresh sees them, up puts them back", async () => {
        await kc.realms.update({ realm: REALM }, { passwordPolicy: "length(8)", bruteForceProtected: false });
        const airflow = await clientByClientId(kc, "airflow");
        const mapper = (await kc.clients.listProtocolMappers({ realm: REALM, id: airflow.id! })).find((m) => m.name === ROLES_MAPPER)!;
        await kc.clients.delProtocolMapper({ realm: REALM, id: airflow.id!, mapperId: mapper.id! });

        const refresh = await stack.refresh({ onOutput: log("kc-refresh-realm") });
        expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 2 });
        expect((await resourceOf(stack, "kcr-realm")).outputs).toMatchObject({ passwordPolicy: "length(8)", bruteForce: { enabled: false } });
        expect((await resourceOf(stack, "kcr-client-airflow")).outputs.rolesClaim).toBe("");

        const up = await stack.up({ onOutput: log("kc-up-realm") });
        expect(changes(up.summary.resourceChanges)).toEqual({ update: 2 });
        expect(await kc.realms.findOne({ realm: REALM })).toMatchObject({ passwordPolicy: "length(12) and notUsername and notEmail and passwordHistory(3)", bruteForceProtected: true, failureFactor: 5 });
        const mappers = await kc.clients.listProtocolMappers({ realm: REALM, id: airflow.id! });
        expect(mappers.filter((m) => m.name === ROLES_MAPPER).map((m) => m.config?.["claim.name"])).toEqual(["roles"]);
    });

    test("a role taken from a group and a redirect URI changed in the console: refresh sees both, up puts them back", async () => {
        const group = (await groupByName(kc, "data-engineer"))!;
        const role = await kc.roles.findOneByName({ realm: REALM, name: "data-engineer" });
        await kc.groups.delRealmRoleMappings({ realm: REALM, id: group.id!, roles: [{ id: role!.id!, name: role!.name! }] });
        const airflow = await clientByClientId(kc, "airflow");
        await kc.clients.update({ realm: REALM, id: airflow.id! }, { ...airflow, redirectUris: ["http://evil.localhost/cb"] });

        const refresh = await stack.refresh({ onOutput: log("kc-refresh-drift") });
        expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 2 });
        expect((await resourceOf(stack, "kcr-group-data-engineer")).outputs.realmRoles).toEqual([]);
        expect((await resourceOf(stack, "kcr-client-airflow")).outputs.redirectUris).toEqual(["http://evil.localhost/cb"]);

        const preview = await stack.preview({ onOutput: log("kc-preview-drift") });
        expect(changes(preview.changeSummary)).toEqual({ update: 2 });

        const up = await stack.up({ onOutput: log("kc-up-repair") });
        expect(changes(up.summary.resourceChanges)).toEqual({ update: 2 });
        expect(await groupRoles(kc, group.id!)).toEqual(["data-engineer"]);
        expect((await kc.clients.findOne({ realm: REALM, id: airflow.id! }))?.redirectUris).toEqual([AIRFLOW_CALLBACK]);
    });

    test("realm-admin given to the analysts and taken from the platform admins in the console: refresh sees both, up puts them back", async () => {
        const analysts = (await groupByName(kc, "analyst"))!;
        const admins = (await groupByName(kc, "platform-admin"))!;
        const ra = await realmAdminRole(kc);
        await kc.groups.addClientRoleMappings({ realm: REALM, id: analysts.id!, ...ra });
        await kc.groups.delClientRoleMappings({ realm: REALM, id: admins.id!, ...ra });

        const refresh = await stack.refresh({ onOutput: log("kc-refresh-client-roles") });
        expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 2 });
        expect((await resourceOf(stack, "kcr-group-analyst")).outputs.clientRoles).toEqual({ "realm-management": ["realm-admin"] });
        expect((await resourceOf(stack, "kcr-group-platform-admin")).outputs.clientRoles).toEqual({});

        const up = await stack.up({ onOutput: log("kc-up-client-roles") });
        expect(changes(up.summary.resourceChanges)).toEqual({ update: 2 });
        expect(await groupClientRoles(kc, analysts.id!)).toEqual({});
        expect(await groupClientRoles(kc, admins.id!)).toEqual({ "realm-management": ["realm-admin"] });
    });

    test("a group deleted in the console: refresh drops it, up makes it again with its role and puts its member back", async () => {
        const gone = (await groupByName(kc, "analyst"))!;
        await kc.groups.del({ realm: REALM, id: gone.id! });

        const refresh = await stack.refresh({ onOutput: log("kc-refresh-group") });
        // The group is gone from the state; bob's groups drifted with it.
        expect(changes(refresh.summary.resourceChanges)).toEqual({ delete: 1, update: 1 });

        const up = await stack.up({ onOutput: log("kc-up-group") });
        expect(changes(up.summary.resourceChanges)).toEqual({ create: 1, update: 1 });
        const made = (await groupByName(kc, "analyst"))!;
        expect(made.id).not.toBe(gone.id);
        expect(await groupRoles(kc, made.id!)).toEqual(["analyst"]);
        expect((await kc.users.listGroups({ realm: REALM, id: (await userByName(kc, "bob")).id! })).map((g) => g.name)).toEqual(["analyst"]);
    });

    test("a role deleted in the console is made again, and given back to its group", async () => {
        await kc.roles.delByName({ realm: REALM, name: "viewer" });
        const refresh = await stack.refresh({ onOutput: log("kc-refresh-role") });
        expect(changes(refresh.summary.resourceChanges)).toEqual({ delete: 1, update: 1 });
        const up = await stack.up({ onOutput: log("kc-up-role") });
        expect(changes(up.summary.resourceChanges)).toEqual({ create: 1, update: 1 });
        expect(await groupRoles(kc, (await groupByName(kc, "viewer"))!.id!)).toEqual(["viewer"]);
    });

    test("the program changes: a new redirect URI updates the client in place (same id, same secret), a new user is made", async () => {
        const before = await clientByClientId(kc, "airflow");
        airflowRedirects = [AIRFLOW_CALLBACK, "http://airflow.localhost:8443/oauth2/callback"];
        extraUsers = [{ username: "carol", email: "carol@example.com", firstName: "Carol", lastName: "Danvers", groups: ["viewer", "analyst"], initialPassword: `Initial-Carol-${run}` }];
        const up = await stack.up({ onOutput: log("kc-up-change") });
        expect(changes(up.summary.resourceChanges)).toEqual({ create: 1, update: 1 });
        const after = await clientByClientId(kc, "airflow");
        expect(after.id).toBe(before.id);
        expect([...after.redirectUris!].sort()).toEqual(airflowRedirects);
        expect(up.outputs.secrets.value.airflow).toBe(secrets.airflow);
        const carol = await userByName(kc, "carol");
        expect(carol.requiredActions).toEqual([UPDATE_PASSWORD]);
        expect((await kc.users.listGroups({ realm: REALM, id: carol.id! })).map((g) => g.name).sort()).toEqual(["analyst", "viewer"]);
    });

    test("an initial password the realm's policy refuses: up fails with Keycloak's reason and the fix, never the password, and leaves no user behind", async () => {
        extraUsers = [...extraUsers, { username: "dave", email: "dave@example.com", firstName: "Dave", lastName: "Lister", groups: [], initialPassword: "short-pw" }];
        let message = "";
        try {
            await stack.up({ onOutput: log("kc-up-badpw") });
        } catch (err) {
            message = String(err);
        }
        expect(message).toContain("setting the initial password of user dave in realm kc-test failed: 400");
        expect(message).toContain("fix: choose an initial password that meets the realm's password policy");
        expect(message).not.toContain("short-pw");
        expect(await userByName(kc, "dave")).toBeUndefined();
        extraUsers = extraUsers.filter((u) => u.username !== "dave");
    });

    test("a bad redirect URI is refused by preview with the field, the value and the fix, before any change", async () => {
        airflowRedirects = [AIRFLOW_CALLBACK, "*"];
        await expect(stack.preview({ onOutput: log("kc-preview-bad") })).rejects.toThrow('redirectUris: "*" is not an http(s) URL or a path; fix: e.g. https://airflow.example.com/oauth2/callback');
        airflowRedirects = [AIRFLOW_CALLBACK, "http://airflow.localhost:8443/oauth2/callback"];
    });

    test("the state file holds no initial password, no client secret and no admin secret in plaintext: they are ciphertexts, the password an input only", () => {
        const text = stateFile(STACK);
        for (const v of [PASSWORDS.alice, PASSWORDS.bob, `Initial-Carol-${run}`, secrets.airflow, secrets.grafana, endpoint().clientSecret]) {
            expect(v.length).toBeGreaterThan(10);
            expect(text).not.toContain(v);
        }
        type Res = { urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> };
        const resources = (JSON.parse(text).checkpoint.latest.resources as Res[]).filter((r) => r.urn.includes("keycloak:"));
        const at = (name: string) => resources.find((r) => r.urn.endsWith(`::${name}`))!;
        const encrypted = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) };
        expect(resources).toHaveLength(14);
        for (const r of resources) expect(r.outputs.admin).toEqual(encrypted);
        expect(at("kcr-client-airflow").outputs.clientSecret).toEqual(encrypted);
        expect(at("kcr-user-alice").inputs.initialPassword).toEqual(encrypted);
        expect("initialPassword" in at("kcr-user-alice").outputs).toBe(false);
    });

    test("destroy removes the realm and everything in it", async () => {
        const destroy = await stack.destroy({ onOutput: log("kc-destroy") });
        expect(changes(destroy.summary.resourceChanges)).toEqual({ delete: 16 });
        expect(await kc.realms.findOne({ realm: REALM })).toBeFalsy();
    });
});
