// The `swarm-etl:identity` slice of the stack config (zod): Keycloak, its replicas, public URL,
// memory and placement, and its database and login role on the PostgreSQL cluster. The defaults
// that depend on the rest of the config (on with postgres; 2 replicas in prod) are applied by
// `resolveIdentity`; problems that need the rest of the config are reported by the stack schema
// under their keys, with the component's own checks (keycloakArgsProblems) among them.
import { z } from "zod";
import { names as pgNames } from "../postgres/render";
import { CLUSTER_NAME } from "../postgres/config";
import { parseLabel } from "../spark/config";
import { KEYCLOAK_IMAGE, keycloakArgsProblems } from "./keycloak";
import { DEFAULT_ROLES } from "./realm";
import { clientCheckFailures } from "../../../providers/keycloak/clientCheck";
import { PROVIDER_VERSION, UNKNOWN } from "../../../providers/keycloak/common";

export const DEFAULT_IDENTITY = { database: "keycloak", role: "keycloak", memory: "1536M" } as const;
/** The label the docs suggest for Keycloak's nodes (none is needed: unset, any active node runs it). */
export const EXAMPLE_IDENTITY_LABEL = "swarm-etl.identity=true";

/** A Swarm memory limit as the docker CLI reads it: 1536M, 2G (binary multiples). */
export const SWARM_MEMORY_RE = /^[1-9]\d*[MGmg]$/;
const replicasMessage = "must be a whole number from 1 to 9; fix: 1 (the lab, dev) or 2 (prod: one replica survives the loss of a node)";

export const identityConfigSchema = z.strictObject({
    /** Deploy Keycloak (needs postgres). @default - true when postgres is enabled */
    enabled: z.boolean().optional(),
    /** Keycloak replicas (more than one form one cache cluster through the database). @default - prod: 2, else 1 */
    replicas: z.number({ message: replicasMessage }).int({ message: replicasMessage }).min(1, { message: replicasMessage }).max(9, { message: replicasMessage }).optional(),
    /** The public URL people and clients use, through the edge, e.g. https://id.example.com (prod: https). @default - taken from each request */
    hostname: z.string().optional(),
    /** Memory limit of each replica. @default - 1536M */
    memory: z.string().regex(SWARM_MEMORY_RE, { message: "is not a Swarm memory size; fix: a whole number of megabytes or gigabytes, e.g. 1536M or 2G" }).default(DEFAULT_IDENTITY.memory),
    node: z
        .strictObject({
            /** The node label (key=value) of the nodes that may run Keycloak, e.g. swarm-etl.identity=true. @default - any active node */
            label: z.string().optional(),
        })
        .default({}),
    /** Keycloak's database and the login role it connects as (the database's owner: Keycloak creates and migrates its tables). */
    database: z.string().default(DEFAULT_IDENTITY.database),
    role: z.string().default(DEFAULT_IDENTITY.role),
    /** The people of the platform realm: each in groups (one per role: platform-admin, data-engineer, analyst, viewer), with a first password they must change. @default - none */
    users: z
        .array(
            z.strictObject({
                username: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: "is not a username; fix: lower-case letters, digits and . _ -" }),
                email: z.string().email({ message: "is not an email address" }).optional(),
                firstName: z.string().optional(),
                lastName: z.string().optional(),
                groups: z.array(z.string()).min(1, { message: "is empty, so the user could use no UI; fix: e.g. [viewer]" }),
                /** A config secret (`pulumi config set --secret --path 'identity.users[0].initialPassword'`); used when the user is created. */
                initialPassword: z.string().min(12, { message: "is shorter than the realm's password policy allows (12); fix: a longer one" }),
            }),
        )
        .default([]),
    /** OIDC clients of UIs that sign people in themselves (the edge's own client is made with the edge): one per UI, its redirect URIs (prod: https), the roles whose people it is for. @default - none */
    clients: z
        .array(
            z.strictObject({
                clientId: z.string(),
                /** @default - the clientId */
                name: z.string().optional(),
                /** The UI's public URL; relative redirect URIs are relative to it. @default - none */
                rootUrl: z.string().optional(),
                redirectUris: z.array(z.string()).min(1, { message: "is empty; fix: the UI's callback URL(s), e.g. [https://grafana.example.com/login/generic_oauth]" }),
                /** @default - none */
                postLogoutRedirectUris: z.array(z.string()).optional(),
                /** The realm roles whose people may use it: its tokens' roles claim carries only these. @default - all roles */
                roles: z.array(z.string()).min(1, { message: "is empty, so nobody could use the UI; fix: e.g. [platform-admin, analyst], or leave it out for all roles" }).optional(),
            }),
        )
        .default([]),
});

export type IdentityConfig = z.output<typeof identityConfigSchema>;
/** The slice with the defaults that depend on the rest of the config applied. */
export type ResolvedIdentityConfig = IdentityConfig & { enabled: boolean; replicas: number };

/** `enabled` and `replicas` with their defaults: on with postgres; 2 replicas in prod, else 1. */
export function resolveIdentity(identity: IdentityConfig, postgresEnabled: boolean, profile: string): ResolvedIdentityConfig {
    return { ...identity, enabled: identity.enabled ?? postgresEnabled, replicas: identity.replicas ?? (profile === "prod" ? 2 : 1) };
}

/** The placement constraints of the replicas: `node.labels.<key>==<value>` of identity.node.label. */
export function identityConstraints(identity: Pick<IdentityConfig, "node">): string[] | undefined {
    const kv = identity.node.label === undefined ? undefined : parseLabel(identity.node.label);
    return kv ? [`node.labels.${kv[0]}==${kv[1]}`] : undefined;
}

interface NodeView {
    name: string;
    labels: Record<string, string>;
    availability?: string;
}

interface PostgresView {
    enabled: boolean;
    databases: readonly { name: string; owner: string }[];
    roles: readonly { name: string; login?: boolean; grants: readonly { database: string; privileges: string; schemas?: readonly string[] }[] }[];
}

/** Every problem of the slice that needs the rest of the config, as `[path under identity, message]`. */
export function identityStackProblems(
    identity: ResolvedIdentityConfig,
    pg: PostgresView,
    nodes: readonly NodeView[],
    images: Record<string, string>,
    profile: string,
    /** Clients the program makes itself (the edge's, when it is on). */
    reservedClients: readonly string[] = [],
): [(string | number)[], string][] {
    if (!identity.enabled) return [];
    const out: [(string | number)[], string][] = [];
    if (!pg.enabled) out.push([["enabled"], "Keycloak keeps its realms and sessions in PostgreSQL, but postgres.enabled is false; fix: enable postgres, or set identity.enabled false"]);
    // What the component would refuse, under the key that sets it ("hostname \"x\" is not …" → identity.hostname: "x" is not …).
    const endpoint = `${pgNames(CLUSTER_NAME).router}:5432`;
    for (const p of keycloakArgsProblems({ replicas: identity.replicas, hostname: identity.hostname, database: { networkId: "", endpoint, database: identity.database, user: identity.role, passwordSecret: { secretId: "", secretName: "" } } })) {
        const key = (["replicas", "hostname"] as const).find((k) => p.startsWith(`${k} `));
        if (key) out.push([[key], p.slice(key.length + 1)]);
    }
    const badHostname = out.some(([path]) => path[0] === "hostname");
    if (identity.hostname !== undefined && !badHostname && profile === "prod" && identity.hostname.startsWith("http:")) {
        out.push([["hostname"], `${JSON.stringify(identity.hostname)} is plain HTTP, and prod signs people in only over TLS (it ends at the edge); fix: use https, e.g. ${identity.hostname.replace(/^http:/, "https:")}`]);
    }
    if (identity.node.label !== undefined) {
        const kv = parseLabel(identity.node.label);
        if (!kv) out.push([["node", "label"], `${JSON.stringify(identity.node.label)} is not a node label as key=value; fix: e.g. ${EXAMPLE_IDENTITY_LABEL}`]);
        else if (!nodes.some((n) => n.labels[kv[0]] === kv[1] && n.availability !== "drain")) {
            out.push([["node", "label"], `no active node carries the label ${identity.node.label} (nodes: ${nodes.map((n) => n.name).join(", ")}); fix: add labels: {${kv[0]}: "${kv[1]}"} to the nodes that should run Keycloak, or remove identity.node.label`]);
        }
    }
    if (pg.enabled) {
        const db = pg.databases.find((d) => d.name === identity.database);
        const role = pg.roles.find((r) => r.name === identity.role);
        const owners = [...new Set(pg.databases.map((d) => d.owner))];
        const loginRoles = [...new Set([...owners, ...pg.roles.filter((r) => r.login !== false).map((r) => r.name)])];
        if (!db) {
            out.push([["database"], `${JSON.stringify(identity.database)} is not a database of postgres.databases (${pg.databases.map((d) => d.name).join(", ")}); fix: name one, or add it (e.g. {name: ${identity.database}, owner: ${identity.role}}), or set identity.enabled false`]);
        } else if (role?.login === false) {
            out.push([["role"], `${identity.role} has login: false in postgres.roles, so Keycloak could not connect; fix: remove login: false, or set identity.role to ${db.owner} (the owner of ${db.name})`]);
        } else if (!loginRoles.includes(identity.role)) {
            out.push([["role"], `${JSON.stringify(identity.role)} is not a login role of postgres (database owners and postgres.roles: ${loginRoles.join(", ")}); fix: set identity.role to ${db.owner} (the owner of ${db.name})`]);
        } else if (db.owner !== identity.role && !role?.grants.some((g) => g.database === db.name && g.privileges === "write" && (g.schemas ?? ["public"]).includes("public"))) {
            out.push([["role"], `${identity.role} neither owns ${db.name} (its owner is ${db.owner}) nor has a write grant on its schema public, where Keycloak creates its tables; fix: set identity.role to ${db.owner}, or make ${identity.role} the owner in postgres.databases`]);
        }
    }
    const groups = DEFAULT_ROLES.map((r) => r.name);
    identity.users.forEach((u, i) => {
        u.groups.forEach((g, j) => {
            if (!groups.includes(g)) out.push([["users", i, "groups", j], `${JSON.stringify(g)} is not a group of the realm (${groups.join(", ")}); fix: use one of those`]);
        });
        if (identity.users.findIndex((x) => x.username === u.username) !== i) out.push([["users", i, "username"], `${u.username} is declared more than once; fix: keep one`]);
    });
    identity.clients.forEach((c, i) => out.push(...clientProblems(c, i, identity.clients, groups, reservedClients, profile)));
    const ref = images[KEYCLOAK_IMAGE];
    if (!ref) out.push([["images", KEYCLOAK_IMAGE], `is not set, and identity is enabled; fix: run \`images/build.sh --registry <registry> --via <manager> --stack <stack>\` (the lab: \`images/build.sh --lab\`), which records it`]);
    else if (profile !== "lab" && !/@sha256:[0-9a-f]{64}$/.test(ref)) out.push([["images", KEYCLOAK_IMAGE], `${JSON.stringify(ref)} is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)`]);
    return out;
}

type ClientConfig = IdentityConfig["clients"][number];

/** One of identity.clients against the Client resource's own check, the others, the realm's roles and prod's https rule. */
function clientProblems(c: ClientConfig, i: number, all: readonly ClientConfig[], roles: readonly string[], reserved: readonly string[], profile: string): [(string | number)[], string][] {
    const out: [(string | number)[], string][] = [];
    const at = (...p: (string | number)[]) => ["clients", i, ...p];
    if (reserved.includes(c.clientId)) out.push([at("clientId"), `${c.clientId} is the client the program makes for the edge; fix: choose another clientId, e.g. the UI's name`]);
    else if (all.findIndex((x) => x.clientId === c.clientId) !== i) out.push([at("clientId"), `${c.clientId} is declared more than once; fix: keep one (one client per UI, with all its redirect URIs)`]);
    const failures = clientCheckFailures({
        admin: UNKNOWN as never,
        providerVersion: PROVIDER_VERSION,
        realm: "platform",
        clientId: c.clientId,
        enabled: true,
        rootUrl: c.rootUrl,
        redirectUris: c.redirectUris,
        webOrigins: ["+"],
        postLogoutRedirectUris: c.postLogoutRedirectUris ?? [],
        directAccessGrants: false,
        pkce: true,
        allowedRoles: c.roles,
        rolesClaim: "roles",
        confidential: true,
        standardFlow: true,
    });
    for (const f of failures) {
        // "redirectUris: \"x\" is …" → identity.clients[i].redirectUris[j]: "x" is …; a field's own name leads some reasons.
        const prop = f.property as keyof ClientConfig | "allowedRoles";
        const reason = f.reason.startsWith(`${prop}: `) ? f.reason.slice(prop.length + 2) : f.reason.replace(new RegExp(`^${prop} `), "");
        const list = prop === "redirectUris" ? c.redirectUris : prop === "postLogoutRedirectUris" ? c.postLogoutRedirectUris ?? [] : undefined;
        const j = list ? list.findIndex((u) => reason.includes(JSON.stringify(u))) : -1;
        out.push([j >= 0 ? at(prop, j) : at(prop === "allowedRoles" ? "roles" : prop), reason]);
    }
    (c.roles ?? []).forEach((r, j) => {
        if (!roles.includes(r)) out.push([at("roles", j), `${JSON.stringify(r)} is not a role of the realm (${roles.join(", ")}); fix: use one of those`]);
    });
    if (profile === "prod") {
        const rootHttps = c.rootUrl === undefined || c.rootUrl.startsWith("https://");
        if (!rootHttps) out.push([at("rootUrl"), `${JSON.stringify(c.rootUrl)} is plain HTTP, and prod sends login codes only over TLS; fix: ${c.rootUrl!.replace(/^http:/, "https:")}`]);
        c.redirectUris.forEach((u, j) => {
            if (u.startsWith("http:")) out.push([at("redirectUris", j), `${JSON.stringify(u)} is plain HTTP, and prod sends login codes only over TLS; fix: ${u.replace(/^http:/, "https:")}`]);
        });
    }
    return out;
}


