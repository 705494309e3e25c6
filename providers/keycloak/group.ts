// keycloak:Group — a top-level group and the realm roles and client roles it carries (its members
// get them). The roles are authoritative: up gives the group exactly `realmRoles` and, of every
// client, exactly the roles `clientRoles` names (none of a client it does not name), taking away a
// role added in the admin console and giving back one removed there. Client roles are how a group
// administers its realm: realm-management's realm-admin opens the realm's admin console. Its ID is Keycloak's: a rename is an update
// in place (members stay); another realm replaces it. Members are not managed here: each User
// names its groups. read() returns the live name, description and role mappings; a group deleted
// in the console reads as gone (refresh drops it, up creates it again and its Users add their
// members back, their own drift).
import * as pulumi from "@pulumi/pulumi";
import { AdminEndpoint, adminClient, adminError, httpStatus, unlessGone } from "./admin";
import { adminFailures, diffScoped, isUnknown, knownProps, PROVIDER_VERSION, RealmScoped, realmFailures, sortedSet, textOrUndefined } from "./common";
import { realmRolesNamed, reconcile } from "./role";
import { plain } from "../swarm/common";

export interface GroupFields {
    name: string;
    description?: string;
    /** Realm roles of the group, sorted. */
    realmRoles: string[];
    /** Client roles of the group by clientId (e.g. realm-management: [realm-admin]), sorted; no empty lists. */
    clientRoles?: Record<string, string[]>;
}

export interface GroupInputs extends RealmScoped, GroupFields {}

export interface GroupOutputs extends GroupInputs {
    groupId: string;
    /** The group's path, `/<name>`: how Users and tokens name it. */
    path: string;
}

const GROUP_FIELDS: (keyof GroupFields)[] = ["name", "description", "realmRoles", "clientRoles"];

export function groupCheckFailures(news: GroupInputs): pulumi.dynamic.CheckFailure[] {
    const f = [...adminFailures(news.admin), ...realmFailures(news.realm)];
    if (!isUnknown(news.name) && (typeof news.name !== "string" || news.name.trim() === "" || news.name.includes("/"))) {
        f.push({ property: "name", reason: `group name ${JSON.stringify(news.name)} is not valid: a non-empty name without "/" (a group's path is /<name>), e.g. "data-engineer"` });
    }
    if (!isUnknown(news.realmRoles) && (!Array.isArray(news.realmRoles) || news.realmRoles.some((r) => typeof r !== "string" || r === ""))) {
        f.push({ property: "realmRoles", reason: `realmRoles must be a list of role names, got ${JSON.stringify(news.realmRoles)}; fix: e.g. ["analyst"]` });
    }
    const cr = news.clientRoles;
    if (!isUnknown(cr) && cr !== undefined) {
        const badList = (v: unknown) => !isUnknown(v) && (!Array.isArray(v) || v.some((r) => typeof r !== "string" || r === ""));
        const bad = typeof cr !== "object" || cr === null || Array.isArray(cr) || Object.entries(cr).some(([k, v]) => k === "" || badList(v));
        if (bad) f.push({ property: "clientRoles", reason: `clientRoles must map clientIds to lists of role names, got ${JSON.stringify(cr)}; fix: e.g. {"realm-management": ["realm-admin"]}` });
    }
    return f;
}

/** Client roles keyed by clientId with sorted, duplicate-free lists; a client with no roles left out. */
export function normalizeClientRoles(cr: Record<string, readonly string[]> | undefined): Record<string, string[]> {
    return Object.fromEntries(
        Object.entries(cr ?? {})
            .filter(([, v]) => Array.isArray(v) && v.length > 0)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([k, v]) => [k, sortedSet(v)]),
    );
}

/** The inputs with the role lists sorted and without duplicates (Keycloak keeps sets). */
export function normalizeGroup(news: GroupInputs): GroupInputs {
    const realmRoles = isUnknown(news.realmRoles) ? news.realmRoles : sortedSet(news.realmRoles);
    // Only a well-formed map is normalized: anything else reaches the check as it came.
    const cr = news.clientRoles as unknown;
    const wellFormed = cr === undefined || (typeof cr === "object" && cr !== null && !Array.isArray(cr) && !isUnknown(cr) && Object.values(cr).every((v) => Array.isArray(v)));
    return { ...news, realmRoles, clientRoles: wellFormed ? normalizeClientRoles(news.clientRoles) : news.clientRoles };
}

/** The Admin REST API's view of a group. */
export interface GroupView {
    id?: string;
    name?: string;
    description?: string;
    path?: string;
}

/** The Admin REST API's view of a group's role mappings (GET .../groups/{id}/role-mappings). */
export interface GroupMappings {
    realmMappings?: { id?: string; name?: string }[];
    /** Keyed by clientId. */
    clientMappings?: Record<string, { id?: string; client?: string; mappings?: { id?: string; name?: string }[] }>;
}

export function groupFieldsFromLive(v: GroupView, m: GroupMappings): GroupFields {
    return {
        name: v.name ?? "",
        ...(textOrUndefined(v.description) ? { description: v.description } : {}),
        realmRoles: sortedSet((m.realmMappings ?? []).map((r) => r.name ?? "")),
        clientRoles: normalizeClientRoles(Object.fromEntries(Object.entries(m.clientMappings ?? {}).map(([clientId, c]) => [clientId, (c.mappings ?? []).map((r) => r.name ?? "")]))),
    };
}

export function groupOutputsFromLive(props: GroupOutputs, live: GroupView, m: GroupMappings): GroupOutputs {
    const { description: _asked, ...rest } = props;
    return { ...rest, ...groupFieldsFromLive(live, m), path: live.path ?? `/${live.name}` };
}

export function groupDiff(olds: GroupOutputs, news: GroupInputs) {
    return diffScoped<GroupInputs>(olds, news, GROUP_FIELDS, ["realm"]);
}

type Kc = Awaited<ReturnType<typeof adminClient>>;

/** Gives the group exactly `wanted`: adds the missing roles and takes away the others (as live now). */
async function setGroupRoles(kc: Kc, realm: string, id: string, name: string, wanted: string[]): Promise<void> {
    const live = (await kc.groups.listRealmRoleMappings({ realm, id })) as { id?: string; name?: string }[];
    const { add, remove } = reconcile(
        live.map((r) => r.name ?? ""),
        wanted,
    );
    const what = `setting the roles of group ${name} in realm ${realm}`;
    const toAdd = add.length ? await realmRolesNamed(kc, realm, add, what) : [];
    try {
        if (toAdd.length) await kc.groups.addRealmRoleMappings({ realm, id, roles: toAdd });
        if (remove.length) await kc.groups.delRealmRoleMappings({ realm, id, roles: live.filter((r) => remove.includes(r.name ?? "")).map((r) => ({ id: r.id!, name: r.name! })) });
    } catch (err) {
        throw adminError(what, err);
    }
}

/** Gives the group exactly `wanted` of every client: of a client it names, those roles; of any other, none. */
async function setGroupClientRoles(kc: Kc, realm: string, id: string, name: string, wanted: Record<string, string[]> = {}): Promise<void> {
    const what = `setting the client roles of group ${name} in realm ${realm}`;
    let live: GroupMappings["clientMappings"];
    try {
        live = ((await kc.groups.listRoleMappings({ realm, id })) as GroupMappings).clientMappings ?? {};
    } catch (err) {
        throw adminError(what, err);
    }
    for (const clientId of sortedSet([...Object.keys(live), ...Object.keys(wanted)])) {
        const liveRoles = live[clientId]?.mappings ?? [];
        const { add, remove } = reconcile(
            liveRoles.map((r) => r.name ?? ""),
            wanted[clientId] ?? [],
        );
        if (!add.length && !remove.length) continue;
        try {
            let clientUniqueId = live[clientId]?.id;
            if (!clientUniqueId) {
                const found = (await kc.clients.find({ realm, clientId })) as { id?: string }[];
                clientUniqueId = found[0]?.id;
                if (!clientUniqueId) throw new Error(`${what}: client ${clientId} is not in realm ${realm}; fix: name a client of the realm (its clientId, e.g. realm-management), or declare it first`);
            }
            const toAdd = await Promise.all(
                add.map(async (roleName) => {
                    const role = (await unlessGone(() => kc.clients.findRole({ realm, id: clientUniqueId!, roleName }))) as { id?: string; name?: string } | undefined;
                    if (!role?.id) throw new Error(`${what}: client ${clientId} has no role ${roleName}; fix: one of its roles (Clients > ${clientId} > Roles in the admin console)`);
                    return { id: role.id, name: roleName };
                }),
            );
            if (toAdd.length) await kc.groups.addClientRoleMappings({ realm, id, clientUniqueId, roles: toAdd });
            if (remove.length) {
                await kc.groups.delClientRoleMappings({ realm, id, clientUniqueId, roles: liveRoles.filter((r) => remove.includes(r.name ?? "")).map((r) => ({ id: r.id!, name: r.name! })) });
            }
        } catch (err) {
            if (err instanceof Error && err.message.startsWith(what)) throw err;
            throw adminError(`${what} (client ${clientId})`, err);
        }
    }
}

const provider: pulumi.dynamic.ResourceProvider<GroupInputs, GroupOutputs> = {
    async check(_olds, news) {
        const inputs = normalizeGroup(news);
        return { inputs, failures: groupCheckFailures(inputs) };
    },

    async create(inputs) {
        const kc = await adminClient(inputs.admin);
        const { realm, name } = inputs;
        let id: string;
        try {
            id = (await kc.groups.create({ realm, name, description: inputs.description ?? "" })).id;
        } catch (err) {
            const fix = httpStatus(err) === 409 ? `a group ${name} exists already in realm ${realm} and was not made by this stack: delete it in the admin console, or choose another name` : undefined;
            throw adminError(`creating group ${name} in realm ${realm}`, err, fix);
        }
        try {
            await setGroupRoles(kc, realm, id, name, inputs.realmRoles);
            await setGroupClientRoles(kc, realm, id, name, inputs.clientRoles);
        } catch (err) {
            // Nothing half-made stays behind: the group goes again, the reason is kept.
            await unlessGone(() => kc.groups.del({ realm, id })).catch(() => undefined);
            throw err;
        }
        return { id, outs: plain({ ...inputs, groupId: id, path: `/${name}` }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "keycloak:Group");
        const kc = await adminClient(props.admin);
        const live = (await unlessGone(() => kc.groups.findOne({ realm: props.realm, id }))) as GroupView | undefined;
        if (!live) return { id: "", props: {} as GroupOutputs };
        const mappings = ((await unlessGone(() => kc.groups.listRoleMappings({ realm: props.realm, id }))) ?? {}) as GroupMappings;
        return { id, props: plain(groupOutputsFromLive(props, live, mappings)) };
    },

    async diff(_id, olds, news) {
        const d = groupDiff(olds, news);
        return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
    },

    async update(id, olds, news) {
        const changed = groupDiff(olds, news).updates;
        const kc = await adminClient(news.admin);
        const { realm, name } = news;
        if (changed.includes("name") || changed.includes("description")) {
            const live = await unlessGone(() => kc.groups.findOne({ realm, id }));
            if (!live) throw new Error(`updating group ${olds.name} in realm ${realm} failed: it was deleted outside this stack; run pulumi refresh, then pulumi up to create it again`);
            try {
                await kc.groups.update({ realm, id }, { ...live, name, description: news.description ?? "" });
            } catch (err) {
                throw adminError(`updating group ${olds.name} in realm ${realm}`, err);
            }
        }
        if (changed.includes("realmRoles")) await setGroupRoles(kc, realm, id, name, news.realmRoles);
        if (changed.includes("clientRoles")) await setGroupClientRoles(kc, realm, id, name, news.clientRoles);
        return { outs: plain({ ...news, groupId: id, path: `/${name}` }) };
    },

    async delete(id, props) {
        const kc = await adminClient(props.admin);
        try {
            await unlessGone(() => kc.groups.del({ realm: props.realm, id }));
        } catch (err) {
            throw adminError(`deleting group ${props.name} in realm ${props.realm}`, err);
        }
    },
};

export interface GroupArgs {
    /** How to reach Keycloak's Admin REST API (a secret). */
    admin: pulumi.Input<AdminEndpoint>;
    /** The realm (a Realm's `realm` output); a change replaces the group. */
    realm: pulumi.Input<string>;
    /** A top-level group's name; a change renames it in place. */
    name: pulumi.Input<string>;
    /** @default - none */
    description?: pulumi.Input<string>;
    /** The realm roles the group carries, exactly these (make the group depend on their RealmRoles). @default - none */
    realmRoles?: pulumi.Input<pulumi.Input<string>[]>;
    /** Client roles by clientId, exactly these of every client (none of a client not named), e.g. {"realm-management": ["realm-admin"]}: the realm's admin console. @default - none */
    clientRoles?: pulumi.Input<Record<string, pulumi.Input<pulumi.Input<string>[]>>>;
}

/** A top-level group with its realm roles, managed over the Admin REST API. */
export class Group extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    declare public readonly groupId: pulumi.Output<string>;
    declare public readonly path: pulumi.Output<string>;
    declare public readonly realmRoles: pulumi.Output<string[]>;
    declare public readonly clientRoles: pulumi.Output<Record<string, string[]>>;

    constructor(name: string, args: GroupArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { realmRoles: [], clientRoles: {}, ...args, admin: pulumi.secret(args.admin), providerVersion: PROVIDER_VERSION, groupId: undefined, path: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["admin"] }), "keycloak", "Group");
    }
}
