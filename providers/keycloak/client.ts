// keycloak:Client — a confidential OpenID Connect client for one UI (standard flow, i.e. the
// authorization code flow, with PKCE), its redirect URIs and web origins, and a protocol mapper
// that puts the user's realm roles into a top-level claim (`roles`) of the ID token, the access
// token and userinfo: oauth2-proxy in front of the UI reads them from there. With `allowedRoles`,
// the client's scope is only those roles (full scope off, realm scope mappings): the claim then
// carries only the user's roles among them, empty for a user the UI is not for.
//
// The client secret is Keycloak's: it generates one on create, and the provider reads it back as
// a secret output (read() too, so a secret regenerated in the admin console reaches whatever takes
// the output, e.g. oauth2-proxy's Swarm secret, on the next up). Why not a value made in the
// component (@pulumi/random, a Terraform bridge that cannot be built here, or GeneratedPassword):
// it would be a second copy of a value Keycloak holds anyway, readable by anyone with the admin
// API, which up would have to push back after every rotation in the console; with Keycloak's own
// there is one value, the outputs follow it, and a rotation needs no program change.
//
// Its ID is Keycloak's: a new clientId is an update in place; another realm replaces it. read()
// returns the live fields, mapper and scope, so a redirect URI changed in the console is seen by
// refresh and set back by up.
import * as pulumi from "@pulumi/pulumi";
import { AdminClient, AdminEndpoint, adminClient, adminError, httpStatus, unlessGone } from "./admin";
import { diffScoped, isUnknown, knownProps, PROVIDER_VERSION, sortedSet, textOrUndefined } from "./common";
import { type ClientFields, type ClientInputs, clientCheckFailures } from "./clientCheck";
import { realmRolesNamed, reconcile } from "./role";
import { plain } from "../swarm/common";

export type { ClientFields, ClientInputs } from "./clientCheck";

export interface ClientOutputs extends ClientInputs {
    /** Keycloak's ID of the client (the Admin REST API's, not the clientId). */
    clientUuid: string;
    /** The client secret (a secret output). */
    clientSecret: string;
}

export const CLIENT_FIELDS: (keyof ClientFields)[] = [
    "clientId",
    "name",
    "description",
    "enabled",
    "rootUrl",
    "baseUrl",
    "redirectUris",
    "webOrigins",
    "postLogoutRedirectUris",
    "directAccessGrants",
    "pkce",
    "allowedRoles",
    "rolesClaim",
    "confidential",
    "standardFlow",
];

/** The name of the protocol mapper this provider owns on each client. */
export const ROLES_MAPPER = "swarm-etl realm roles";
/** The inputs with the defaults, the lists sorted, and the two fixed fields set. */
export function normalizeClient(news: Partial<ClientInputs>): ClientInputs {
    const list = (v: string[] | undefined) => (isUnknown(v) ? v : sortedSet(v));
    return {
        enabled: true,
        directAccessGrants: false,
        pkce: true,
        rolesClaim: "roles",
        ...news,
        redirectUris: list(news.redirectUris),
        webOrigins: news.webOrigins === undefined ? ["+"] : list(news.webOrigins),
        postLogoutRedirectUris: list(news.postLogoutRedirectUris),
        ...(news.allowedRoles === undefined ? {} : { allowedRoles: list(news.allowedRoles) }),
        confidential: true,
        standardFlow: true,
    } as ClientInputs;
}

/** The client's representation for the Admin REST API (the managed fields; "" clears a text field). */
export function renderClient(c: ClientFields): Record<string, unknown> {
    return {
        clientId: c.clientId,
        name: c.name ?? "",
        description: c.description ?? "",
        enabled: c.enabled,
        protocol: "openid-connect",
        publicClient: false,
        bearerOnly: false,
        clientAuthenticatorType: "client-secret",
        standardFlowEnabled: true,
        implicitFlowEnabled: false,
        directAccessGrantsEnabled: c.directAccessGrants,
        serviceAccountsEnabled: false,
        rootUrl: c.rootUrl ?? "",
        baseUrl: c.baseUrl ?? "",
        redirectUris: c.redirectUris,
        webOrigins: c.webOrigins,
        fullScopeAllowed: c.allowedRoles === undefined,
        attributes: {
            "pkce.code.challenge.method": c.pkce ? "S256" : "",
            "post.logout.redirect.uris": c.postLogoutRedirectUris.join("##"),
        },
    };
}

/** The protocol mapper that writes the user's realm roles (those in the client's scope) into `claim`. */
export function rolesMapper(claim: string) {
    return {
        name: ROLES_MAPPER,
        protocol: "openid-connect",
        protocolMapper: "oidc-usermodel-realm-role-mapper",
        config: {
            "claim.name": claim,
            "jsonType.label": "String",
            multivalued: "true",
            "id.token.claim": "true",
            "access.token.claim": "true",
            "userinfo.token.claim": "true",
            "introspection.token.claim": "true",
        },
    };
}

/** The Admin REST API's view of a client and of a protocol mapper. */
export interface ClientView {
    id?: string;
    clientId?: string;
    name?: string;
    description?: string;
    enabled?: boolean;
    publicClient?: boolean;
    bearerOnly?: boolean;
    standardFlowEnabled?: boolean;
    directAccessGrantsEnabled?: boolean;
    rootUrl?: string;
    baseUrl?: string;
    redirectUris?: string[];
    webOrigins?: string[];
    fullScopeAllowed?: boolean;
    attributes?: Record<string, string>;
}
export interface MapperView {
    id?: string;
    name?: string;
    protocolMapper?: string;
    config?: Record<string, string>;
}

/** The claim our mapper writes, or "" when it is gone or no longer what rolesMapper makes. */
export function rolesClaimFromLive(mappers: MapperView[]): string {
    const m = mappers.find((x) => x.name === ROLES_MAPPER);
    if (!m || m.protocolMapper !== "oidc-usermodel-realm-role-mapper") return "";
    const claim = m.config?.["claim.name"] ?? "";
    const want = rolesMapper(claim).config as Record<string, string>;
    return Object.entries(want).every(([k, v]) => m.config?.[k] === v) ? claim : "";
}

export function clientFieldsFromLive(v: ClientView, mappers: MapperView[], scope: { name?: string }[]): ClientFields {
    const attrs = v.attributes ?? {};
    const logout = attrs["post.logout.redirect.uris"];
    return {
        clientId: v.clientId ?? "",
        ...(textOrUndefined(v.name) ? { name: v.name } : {}),
        ...(textOrUndefined(v.description) ? { description: v.description } : {}),
        enabled: !!v.enabled,
        ...(textOrUndefined(v.rootUrl) ? { rootUrl: v.rootUrl } : {}),
        ...(textOrUndefined(v.baseUrl) ? { baseUrl: v.baseUrl } : {}),
        redirectUris: sortedSet(v.redirectUris),
        webOrigins: sortedSet(v.webOrigins),
        postLogoutRedirectUris: sortedSet(logout ? logout.split("##") : []),
        directAccessGrants: !!v.directAccessGrantsEnabled,
        pkce: attrs["pkce.code.challenge.method"] === "S256",
        ...(v.fullScopeAllowed ? {} : { allowedRoles: sortedSet(scope.map((r) => r.name ?? "")) }),
        rolesClaim: rolesClaimFromLive(mappers),
        confidential: v.publicClient === false && !v.bearerOnly,
        standardFlow: !!v.standardFlowEnabled,
    };
}

export function clientOutputsFromLive(props: ClientOutputs, live: ClientView, mappers: MapperView[], scope: { name?: string }[], secret: string): ClientOutputs {
    const { name: _n, description: _d, rootUrl: _r, baseUrl: _b, allowedRoles: _a, ...rest } = props;
    return { ...rest, ...clientFieldsFromLive(live, mappers, scope), clientSecret: secret };
}

export function clientDiff(olds: ClientOutputs, news: ClientInputs) {
    return diffScoped<ClientInputs>(olds, news, CLIENT_FIELDS, ["realm"]);
}

/** Everything but the client's own representation: the roles mapper and the realm scope, as live now. */
async function converge(kc: AdminClient, c: ClientInputs, id: string): Promise<void> {
    const { realm } = c;
    const what = `setting up client ${c.clientId} in realm ${realm}`;
    try {
        const mappers = (await kc.clients.listProtocolMappers({ realm, id })) as MapperView[];
        const ours = mappers.find((m) => m.name === ROLES_MAPPER);
        if (!ours) await kc.clients.addProtocolMapper({ realm, id }, rolesMapper(c.rolesClaim));
        else if (rolesClaimFromLive(mappers) !== c.rolesClaim) await kc.clients.updateProtocolMapper({ realm, id, mapperId: ours.id! }, { ...ours, ...rolesMapper(c.rolesClaim) });
    } catch (err) {
        throw adminError(`${what}: its roles mapper`, err);
    }
    if (c.allowedRoles === undefined) return;
    const live = (await kc.clients.listRealmScopeMappings({ realm, id })) as { id?: string; name?: string }[];
    const { add, remove } = reconcile(
        live.map((r) => r.name ?? ""),
        c.allowedRoles,
    );
    const toAdd = add.length ? await realmRolesNamed(kc, realm, add, `${what}: its allowed roles`) : [];
    try {
        if (toAdd.length) await kc.clients.addRealmScopeMappings({ realm, id }, toAdd);
        if (remove.length) await kc.clients.delRealmScopeMappings({ realm, id }, live.filter((r) => remove.includes(r.name ?? "")).map((r) => ({ id: r.id!, name: r.name! })));
    } catch (err) {
        throw adminError(`${what}: its allowed roles`, err);
    }
}

async function secretOf(kc: AdminClient, realm: string, id: string, clientId: string): Promise<string> {
    try {
        const s = await kc.clients.getClientSecret({ realm, id });
        if (!s?.value) throw new Error("Keycloak returned no secret");
        return s.value;
    } catch (err) {
        throw adminError(`reading the secret of client ${clientId} in realm ${realm}`, err);
    }
}

const provider: pulumi.dynamic.ResourceProvider<ClientInputs, ClientOutputs> = {
    async check(_olds, news) {
        const inputs = normalizeClient(news);
        return { inputs, failures: clientCheckFailures(inputs) };
    },

    async create(inputs) {
        const kc = await adminClient(inputs.admin);
        const { realm, clientId } = inputs;
        let id: string;
        try {
            id = (await kc.clients.create({ realm, ...renderClient(inputs) })).id;
        } catch (err) {
            const fix = httpStatus(err) === 409 ? `a client ${clientId} exists already in realm ${realm} and was not made by this stack: delete it in the admin console, or choose another clientId` : undefined;
            throw adminError(`creating client ${clientId} in realm ${realm}`, err, fix);
        }
        try {
            await converge(kc, inputs, id);
        } catch (err) {
            // Nothing half-made stays behind: the client goes again, the reason is kept.
            await unlessGone(() => kc.clients.del({ realm, id })).catch(() => undefined);
            throw err;
        }
        return { id, outs: plain({ ...inputs, clientUuid: id, clientSecret: await secretOf(kc, realm, id, clientId) }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "keycloak:Client");
        const kc = await adminClient(props.admin);
        const { realm } = props;
        const live = (await unlessGone(() => kc.clients.findOne({ realm, id }))) as ClientView | undefined;
        if (!live) return { id: "", props: {} as ClientOutputs };
        const mappers = ((await unlessGone(() => kc.clients.listProtocolMappers({ realm, id }))) ?? []) as MapperView[];
        const scope = live.fullScopeAllowed ? [] : (((await unlessGone(() => kc.clients.listRealmScopeMappings({ realm, id }))) ?? []) as { name?: string }[]);
        const secret = await secretOf(kc, realm, id, props.clientId);
        return { id, props: plain(clientOutputsFromLive(props, live, mappers, scope, secret)) };
    },

    async diff(_id, olds, news) {
        const d = clientDiff(olds, news);
        return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
    },

    async update(id, olds, news) {
        const kc = await adminClient(news.admin);
        const { realm, clientId } = news;
        if (clientDiff(olds, news).updates.some((k) => CLIENT_FIELDS.includes(k as keyof ClientFields))) {
            const live = (await unlessGone(() => kc.clients.findOne({ realm, id }))) as ClientView | undefined;
            if (!live) throw new Error(`updating client ${olds.clientId} in realm ${realm} failed: it was deleted outside this stack; run pulumi refresh, then pulumi up to create it again`);
            const rep = renderClient(news);
            try {
                // The rest of the representation goes back as read (a PUT of a client replaces it).
                await kc.clients.update({ realm, id }, { ...live, ...rep, attributes: { ...(live.attributes ?? {}), ...(rep.attributes as Record<string, string>) } });
            } catch (err) {
                throw adminError(`updating client ${olds.clientId} in realm ${realm}`, err);
            }
            await converge(kc, news, id);
        }
        return { outs: plain({ ...news, clientUuid: id, clientSecret: await secretOf(kc, realm, id, clientId) }) };
    },

    async delete(id, props) {
        const kc = await adminClient(props.admin);
        try {
            await unlessGone(() => kc.clients.del({ realm: props.realm, id }));
        } catch (err) {
            throw adminError(`deleting client ${props.clientId} in realm ${props.realm}`, err);
        }
    },
};

type In<T> = pulumi.Input<T>;

export interface ClientArgs {
    /** How to reach Keycloak's Admin REST API (a secret). */
    admin: In<AdminEndpoint>;
    /** The realm (a Realm's `realm` output); a change replaces the client (and makes a new secret). */
    realm: In<string>;
    /** The client's id, as the UI's OIDC settings name it; a change updates it in place. */
    clientId: In<string>;
    /** The name the consent and account pages show. @default - the clientId */
    name?: In<string>;
    /** @default - none */
    description?: In<string>;
    /** @default - true */
    enabled?: In<boolean>;
    /** The UI's public URL; relative redirect URIs are relative to it. @default - none */
    rootUrl?: In<string>;
    /** Where the account page links to the UI. @default - none */
    baseUrl?: In<string>;
    /** The UI's callback URLs (oauth2-proxy's: https://<ui>/oauth2/callback); a * only at the end. */
    redirectUris: In<In<string>[]>;
    /** CORS origins; "+" is the redirect URIs' own. @default - ["+"] */
    webOrigins?: In<In<string>[]>;
    /** Where the UI may send people after logout. @default - none */
    postLogoutRedirectUris?: In<In<string>[]>;
    /** Allow the password grant (scripts, tests); a UI never needs it. @default - false */
    directAccessGrants?: In<boolean>;
    /** Require PKCE (S256) on the code flow (oauth2-proxy: --code-challenge-method=S256). @default - true */
    pkce?: In<boolean>;
    /** The realm roles the client may see (its scope): the roles claim carries only these (make the client depend on their RealmRoles). @default - all roles (full scope) */
    allowedRoles?: In<In<string>[]>;
    /** The claim the realm roles go into (ID token, access token, userinfo). @default - "roles" */
    rolesClaim?: In<string>;
}

/** A confidential OIDC client with a realm roles claim, managed over the Admin REST API. */
export class Client extends pulumi.dynamic.Resource {
    declare public readonly clientId: pulumi.Output<string>;
    declare public readonly clientUuid: pulumi.Output<string>;
    /** The client secret Keycloak generated (a secret output). */
    declare public readonly clientSecret: pulumi.Output<string>;
    declare public readonly redirectUris: pulumi.Output<string[]>;
    declare public readonly rolesClaim: pulumi.Output<string>;

    constructor(name: string, args: ClientArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, admin: pulumi.secret(args.admin), providerVersion: PROVIDER_VERSION, clientUuid: undefined, clientSecret: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["admin", "clientSecret"] }), "keycloak", "Client");
    }
}
