// keycloak:Group — a top-level group and the realm roles it carries (its members get them). The
// roles are authoritative: up gives the group exactly `realmRoles`, taking away a role added in
// the admin console and giving back one removed there. Its ID is Keycloak's: a rename is an update
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
}

export interface GroupInputs extends RealmScoped, GroupFields {}

export interface GroupOutputs extends GroupInputs {
    groupId: string;
    /** The group's path, `/<name>`: how Users and tokens name it. */
    path: string;
}

const GROUP_FIELDS: (keyof GroupFields)[] = ["name", "description", "realmRoles"];

export function groupCheckFailures(news: GroupInputs): pulumi.dynamic.CheckFailure[] {
    const f = [...adminFailures(news.admin), ...realmFailures(news.realm)];
    if (!isUnknown(news.name) && (typeof news.name !== "string" || news.name.trim() === "" || news.name.includes("/"))) {
        f.push({ property: "name", reason: `group name ${JSON.stringify(news.name)} is not valid: a non-empty name without "/" (a group's path is /<name>), e.g. "data-engineer"` });
    }
    if (!isUnknown(news.realmRoles) && (!Array.isArray(news.realmRoles) || news.realmRoles.some((r) => typeof r !== "string" || r === ""))) {
        f.push({ property: "realmRoles", reason: `realmRoles must be a list of role names, got ${JSON.stringify(news.realmRoles)}; fix: e.g. ["analyst"]` });
    }
    return f;
}

/** The inputs with the role list sorted and without duplicates (Keycloak keeps a set). */
export function normalizeGroup(news: GroupInputs): GroupInputs {
    return isUnknown(news.realmRoles) ? news : { ...news, realmRoles: sortedSet(news.realmRoles) };
}

/** The Admin REST API's view of a group, and its realm role mappings. */
export interface GroupView {
    id?: string;
    name?: string;
    description?: string;
    path?: string;
}

export function groupFieldsFromLive(v: GroupView, roles: { name?: string }[]): GroupFields {
    return {
        name: v.name ?? "",
        ...(textOrUndefined(v.description) ? { description: v.description } : {}),
        realmRoles: sortedSet(roles.map((r) => r.name ?? "")),
    };
}

export function groupOutputsFromLive(props: GroupOutputs, live: GroupView, roles: { name?: string }[]): GroupOutputs {
    const { description: _asked, ...rest } = props;
    return { ...rest, ...groupFieldsFromLive(live, roles), path: live.path ?? `/${live.name}` };
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
        const roles = ((await unlessGone(() => kc.groups.listRealmRoleMappings({ realm: props.realm, id }))) ?? []) as { name?: string }[];
        return { id, props: plain(groupOutputsFromLive(props, live, roles)) };
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
}

/** A top-level group with its realm roles, managed over the Admin REST API. */
export class Group extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    declare public readonly groupId: pulumi.Output<string>;
    declare public readonly path: pulumi.Output<string>;
    declare public readonly realmRoles: pulumi.Output<string[]>;

    constructor(name: string, args: GroupArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { realmRoles: [], ...args, admin: pulumi.secret(args.admin), providerVersion: PROVIDER_VERSION, groupId: undefined, path: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["admin"] }), "keycloak", "Group");
    }
}
