// PlatformRealm: the platform's realm as code, over Keycloak's Admin REST API (providers/keycloak):
// the realm (password policy, brute-force protection, token and session lifespans), its roles
// (platform-admin, data-engineer, analyst, viewer), one group per role carrying it, one
// confidential OIDC client per UI with its redirect URIs and a `roles` claim, and the people of the
// stack's config, each with a temporary first password. Every resource reads its live object, so
// a role or a redirect URI changed in the admin console is seen by `pulumi refresh` and set back
// by `pulumi up`.
//
// The providers reach Keycloak as `admin` says: inside the swarm or through the SSH transport,
// never through a published admin port. The args are plain (the names make the children); the
// config slice (components/stacks/identity/config.ts) maps onto PlatformRealmArgs.
import * as pulumi from "@pulumi/pulumi";
import { AdminEndpoint, BruteForce, Client, Group, Realm, RealmRole, SslRequired, User } from "../../../providers/keycloak";
import { REALM_NAME_RE } from "../../../providers/keycloak/common";

export interface RealmRoleSpec {
    readonly name: string;
    /** @default - none */
    readonly description?: string;
}

export interface RealmGroupSpec {
    /** A top-level group's name. */
    readonly name: string;
    /** Realm roles its members get (among `roles`). */
    readonly roles: readonly string[];
    /** Client roles its members get, by clientId, e.g. REALM_ADMIN. @default - none */
    readonly clientRoles?: Readonly<Record<string, readonly string[]>>;
    /** @default - none */
    readonly description?: string;
}

export interface RealmClientSpec {
    /** The client's id, as the UI's OIDC settings name it (one client per UI). */
    readonly clientId: string;
    /** @default - the clientId */
    readonly name?: string;
    /** The UI's public URL; relative redirect URIs are relative to it. @default - none */
    readonly rootUrl?: string;
    /** The UI's callback URLs, e.g. https://airflow.example.com/oauth2/callback. */
    readonly redirectUris: readonly string[];
    /** @default - ["+"]: the redirect URIs' origins */
    readonly webOrigins?: readonly string[];
    /** @default - none */
    readonly postLogoutRedirectUris?: readonly string[];
    /** The roles (among `roles`) the UI is for: its tokens' roles claim carries only these. @default - all roles */
    readonly allowedRoles?: readonly string[];
    /** The password grant (scripts, tests). @default - false */
    readonly directAccessGrants?: boolean;
    /** @default - true (oauth2-proxy: --code-challenge-method=S256) */
    readonly pkce?: boolean;
}

export interface RealmUserSpec {
    /** Lower case. */
    readonly username: string;
    /** Lower case. @default - none */
    readonly email?: string;
    /** @default - none */
    readonly firstName?: string;
    /** @default - none */
    readonly lastName?: string;
    /** Groups (among `groups`) the user is in. */
    readonly groups: readonly string[];
    /** A temporary password: the user chooses their own at the first login. A secret; used on create only. */
    readonly initialPassword: pulumi.Input<string>;
    /** @default - true */
    readonly enabled?: boolean;
}

/** The realm's own settings; each left out takes the Realm resource's default (providers/keycloak/realm.ts). */
export interface RealmSettings {
    /** @default - "Data platform" */
    readonly displayName?: string;
    /** @default - "length(12) and notUsername and notEmail and passwordHistory(3)" */
    readonly passwordPolicy?: string;
    /** @default - on: 5 failures, then 60 s more per lockout up to 15 min; the count restarts after 12 h */
    readonly bruteForce?: Partial<BruteForce>;
    /** @default - 300 */
    readonly accessTokenLifespan?: number;
    /** @default - 1800 */
    readonly ssoSessionIdleTimeout?: number;
    /** @default - 36000 */
    readonly ssoSessionMaxLifespan?: number;
    /** @default - true */
    readonly loginWithEmailAllowed?: boolean;
    /** @default - false */
    readonly rememberMe?: boolean;
    /** @default - "external" */
    readonly sslRequired?: SslRequired;
}

export interface PlatformRealmArgs {
    /** How the providers reach the Admin REST API: Keycloak's URL and the master realm's service account (a secret). */
    readonly admin: pulumi.Input<AdminEndpoint>;
    /** The realm's name; a change replaces the realm and everything in it. @default - "platform" */
    readonly realm?: string;
    /** @default - the Realm resource's defaults */
    readonly settings?: RealmSettings;
    /** @default - DEFAULT_ROLES: platform-admin, data-engineer, analyst, viewer */
    readonly roles?: readonly RealmRoleSpec[];
    /** @default - one group per role, of the same name, carrying it */
    readonly groups?: readonly RealmGroupSpec[];
    /** One per UI. @default - none */
    readonly clients?: readonly RealmClientSpec[];
    /** The people of the stack's config. @default - none */
    readonly users?: readonly RealmUserSpec[];
}

const clientRolesOf = (g: RealmGroupSpec): Record<string, string[]> => Object.fromEntries(Object.entries(g.clientRoles ?? {}).map(([k, v]) => [k, [...v]]));

export const DEFAULT_REALM = "platform";

/** The role that runs the platform; its group also administers the realm. */
export const ADMIN_ROLE = "platform-admin";

export const DEFAULT_ROLES: readonly RealmRoleSpec[] = [
    { name: ADMIN_ROLE, description: "Runs the platform: every UI, every setting, the realm's admin console" },
    { name: "data-engineer", description: "Builds and runs the pipelines: the scheduler, Spark, the warehouse's schemas" },
    { name: "analyst", description: "Queries the warehouse and builds dashboards" },
    { name: "viewer", description: "Reads dashboards and job status" },
];

/** Client roles that open the realm's own admin console (/admin/<realm>/console/) with every right in it. */
export const REALM_ADMIN: Readonly<Record<string, readonly string[]>> = { "realm-management": ["realm-admin"] };

/** One group per role, of the same name, carrying it; the platform-admin group also carries REALM_ADMIN. */
export const defaultGroups = (roles: readonly RealmRoleSpec[]): RealmGroupSpec[] =>
    roles.map((r) => ({ name: r.name, roles: [r.name], ...(r.name === ADMIN_ROLE ? { clientRoles: REALM_ADMIN } : {}) }));

/** The args with their defaults (roles, groups, realm name). */
export function resolveRealmArgs(a: PlatformRealmArgs): Required<Omit<PlatformRealmArgs, "settings">> & { settings: RealmSettings } {
    const roles = a.roles ?? DEFAULT_ROLES;
    return { admin: a.admin, realm: a.realm ?? DEFAULT_REALM, settings: a.settings ?? {}, roles, groups: a.groups ?? defaultGroups(roles), clients: a.clients ?? [], users: a.users ?? [] };
}

const duplicates = (names: string[]) => [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];

/** What is wrong with the args, each with its fix: names, duplicates, and references to roles and groups not declared. */
export function platformRealmProblems(args: PlatformRealmArgs): string[] {
    const a = resolveRealmArgs(args);
    const out: string[] = [];
    if (!REALM_NAME_RE.test(a.realm)) out.push(`realm ${JSON.stringify(a.realm)} is not a realm name: use letters, digits and - _ . (e.g. "${DEFAULT_REALM}")`);
    else if (a.realm === "master") out.push(`realm "master" holds Keycloak's own administrators; fix: use a realm of your own, e.g. "${DEFAULT_REALM}"`);
    const roleNames = a.roles.map((r) => r.name);
    const groupNames = a.groups.map((g) => g.name);
    const listed = (what: string, names: string[]) => `${what} (${names.join(", ") || "none"})`;
    for (const [what, names] of [["roles", roleNames], ["groups", groupNames], ["clients", a.clients.map((c) => c.clientId)], ["users", a.users.map((u) => u.username)], ["users' emails", a.users.flatMap((u) => (u.email ? [u.email] : []))]] as const) {
        for (const d of duplicates([...names])) out.push(`${what}: ${d} is declared more than once; fix: keep one`);
    }
    a.groups.forEach((g, i) => {
        for (const r of g.roles) if (!roleNames.includes(r)) out.push(`groups[${i}] (${g.name}): role ${r} is not among ${listed("roles", roleNames)}; fix: add it to roles, or remove it from the group`);
    });
    a.clients.forEach((c, i) => {
        for (const r of c.allowedRoles ?? []) if (!roleNames.includes(r)) out.push(`clients[${i}] (${c.clientId}): allowed role ${r} is not among ${listed("roles", roleNames)}; fix: add it to roles, or remove it from allowedRoles`);
    });
    a.users.forEach((u, i) => {
        for (const g of u.groups) if (!groupNames.includes(g)) out.push(`users[${i}] (${u.username}): group ${g} is not among ${listed("groups", groupNames)}; fix: add it to groups, or remove it from the user`);
    });
    return out;
}

export class PlatformRealm extends pulumi.ComponentResource {
    public readonly realm: Realm;
    /** The realm's name (resolves once the realm exists). */
    public readonly realmName: pulumi.Output<string>;
    public readonly roles: Record<string, RealmRole>;
    public readonly groups: Record<string, Group>;
    /** By clientId. */
    public readonly clients: Record<string, Client>;
    /** By clientId: the secret Keycloak generated (secret outputs), for oauth2-proxy's Swarm secrets. */
    public readonly clientSecrets: Record<string, pulumi.Output<string>>;
    /** By username. */
    public readonly users: Record<string, User>;

    constructor(name: string, args: PlatformRealmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:PlatformRealm", name, {}, opts);
        const problems = platformRealmProblems(args);
        if (problems.length) throw new Error(`PlatformRealm ${name}: ${problems.join("; ")}`);
        const a = resolveRealmArgs(args);
        const admin = a.admin;
        const child = { parent: this };

        this.realm = new Realm(`${name}-realm`, { admin, realm: a.realm, displayName: "Data platform", ...a.settings }, child);
        // The realm's output, not the plain name: every child waits for the realm.
        const realm = this.realmName = this.realm.realm;

        this.roles = Object.fromEntries(a.roles.map((r) => [r.name, new RealmRole(`${name}-role-${r.name}`, { admin, realm, name: r.name, description: r.description }, child)]));
        const rolesOf = (names: readonly string[]) => names.map((n) => this.roles[n]);

        this.groups = Object.fromEntries(
            a.groups.map((g) => [g.name, new Group(`${name}-group-${g.name}`, { admin, realm, name: g.name, description: g.description, realmRoles: [...g.roles], clientRoles: clientRolesOf(g) }, { parent: this, dependsOn: rolesOf(g.roles) })]),
        );

        this.clients = Object.fromEntries(
            a.clients.map((c) => [
                c.clientId,
                new Client(
                    `${name}-client-${c.clientId}`,
                    {
                        admin,
                        realm,
                        clientId: c.clientId,
                        name: c.name,
                        rootUrl: c.rootUrl,
                        redirectUris: [...c.redirectUris],
                        webOrigins: c.webOrigins ? [...c.webOrigins] : undefined,
                        postLogoutRedirectUris: c.postLogoutRedirectUris ? [...c.postLogoutRedirectUris] : undefined,
                        allowedRoles: c.allowedRoles ? [...c.allowedRoles] : undefined,
                        directAccessGrants: c.directAccessGrants,
                        pkce: c.pkce,
                    },
                    { parent: this, dependsOn: rolesOf(c.allowedRoles ?? []) },
                ),
            ]),
        );
        this.clientSecrets = Object.fromEntries(Object.entries(this.clients).map(([id, c]) => [id, c.clientSecret]));

        this.users = Object.fromEntries(
            a.users.map((u) => [
                u.username,
                new User(
                    `${name}-user-${u.username}`,
                    { admin, realm, username: u.username, email: u.email, firstName: u.firstName, lastName: u.lastName, enabled: u.enabled, groups: [...u.groups], initialPassword: u.initialPassword },
                    { parent: this, dependsOn: u.groups.map((g) => this.groups[g]) },
                ),
            ]),
        );

        this.registerOutputs({ realmName: this.realmName, clientIds: Object.keys(this.clients) });
    }
}
