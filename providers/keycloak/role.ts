// keycloak:RealmRole — a realm role (platform-admin, data-engineer, …). Its ID is Keycloak's: a
// rename (here or in the admin console) is an update in place, and the groups and scopes that
// carry the role keep it. Another realm replaces it. read() returns the live name and
// description; a role deleted in the console reads as gone, so refresh drops it and up creates it
// again (the groups that carried it see their own drift, and up gives it back to them).
import * as pulumi from "@pulumi/pulumi";
import { AdminEndpoint, adminClient, adminError, httpStatus, unlessGone } from "./admin";
import { adminFailures, diffScoped, isUnknown, knownProps, PROVIDER_VERSION, RealmScoped, realmFailures, textOrUndefined } from "./common";
import { plain } from "../swarm/common";

export interface RoleFields {
    name: string;
    description?: string;
}

export interface RoleInputs extends RealmScoped, RoleFields {}

export interface RoleOutputs extends RoleInputs {
    roleId: string;
}

const ROLE_FIELDS: (keyof RoleFields)[] = ["name", "description"];
/** Role names are path segments of the API and claim values: no slashes, no spaces, no commas. */
export const ROLE_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,254}$/;
/** Roles Keycloak makes in every realm itself. */
export const BUILT_IN_ROLES = ["offline_access", "uma_authorization"];

export function roleCheckFailures(news: RoleInputs): pulumi.dynamic.CheckFailure[] {
    const f = [...adminFailures(news.admin), ...realmFailures(news.realm)];
    const name = news.name;
    if (!isUnknown(name)) {
        if (typeof name !== "string" || !ROLE_NAME_RE.test(name)) {
            f.push({ property: "name", reason: `role name ${JSON.stringify(name)} is not valid: use letters, digits and - _ . : (no spaces, no slashes), e.g. "data-engineer"` });
        } else if (BUILT_IN_ROLES.includes(name) || name.startsWith("default-roles-")) {
            f.push({ property: "name", reason: `role ${name} is one Keycloak makes in every realm itself; fix: choose another name` });
        }
    }
    if (news.description !== undefined && typeof news.description !== "string") f.push({ property: "description", reason: `description must be text, got ${JSON.stringify(news.description)}` });
    return f;
}

/** The Admin REST API's view of a role. */
export interface RoleView {
    id?: string;
    name?: string;
    description?: string;
}

export function roleFieldsFromLive(v: RoleView): RoleFields {
    return { name: v.name ?? "", ...(textOrUndefined(v.description) ? { description: v.description } : {}) };
}

export function roleOutputsFromLive(props: RoleOutputs, live: RoleView): RoleOutputs {
    const { description: _asked, ...rest } = props;
    return { ...rest, ...roleFieldsFromLive(live) };
}

export function roleDiff(olds: RoleOutputs, news: RoleInputs) {
    return diffScoped<RoleInputs>(olds, news, ROLE_FIELDS, ["realm"]);
}

const provider: pulumi.dynamic.ResourceProvider<RoleInputs, RoleOutputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: roleCheckFailures(news) };
    },

    async create(inputs) {
        const kc = await adminClient(inputs.admin);
        const { realm, name } = inputs;
        try {
            await kc.roles.create({ realm, name, description: inputs.description ?? "" });
        } catch (err) {
            const fix = httpStatus(err) === 409 ? `a role ${name} exists already in realm ${realm} and was not made by this stack: delete it in the admin console, or choose another name` : undefined;
            throw adminError(`creating role ${name} in realm ${realm}`, err, fix);
        }
        const live = await kc.roles.findOneByName({ realm, name });
        if (!live?.id) throw new Error(`creating role ${name} in realm ${realm}: Keycloak made it but does not list it; run pulumi up again`);
        return { id: live.id, outs: plain({ ...inputs, roleId: live.id }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "keycloak:RealmRole");
        const kc = await adminClient(props.admin);
        const live = (await unlessGone(() => kc.roles.findOneById({ realm: props.realm, id }))) as RoleView | undefined;
        if (!live) return { id: "", props: {} as RoleOutputs };
        return { id, props: plain(roleOutputsFromLive(props, live)) };
    },

    async diff(_id, olds, news) {
        const d = roleDiff(olds, news);
        return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
    },

    async update(id, olds, news) {
        if (roleDiff(olds, news).updates.some((k) => ROLE_FIELDS.includes(k as keyof RoleFields))) {
            const kc = await adminClient(news.admin);
            try {
                await kc.roles.updateById({ realm: news.realm, id }, { name: news.name, description: news.description ?? "" });
            } catch (err) {
                const gone = httpStatus(err) === 404 ? "it was deleted outside this stack: run pulumi refresh, then pulumi up to create it again" : undefined;
                throw adminError(`updating role ${olds.name} in realm ${news.realm}`, err, gone);
            }
        }
        return { outs: plain({ ...news, roleId: id }) };
    },

    async delete(id, props) {
        const kc = await adminClient(props.admin);
        try {
            await unlessGone(() => kc.roles.delById({ realm: props.realm, id }));
        } catch (err) {
            throw adminError(`deleting role ${props.name} in realm ${props.realm}`, err);
        }
    },
};

export interface RealmRoleArgs {
    /** How to reach Keycloak's Admin REST API (a secret). */
    admin: pulumi.Input<AdminEndpoint>;
    /** The realm (a Realm's `realm` output, which orders the role after it); a change replaces the role. */
    realm: pulumi.Input<string>;
    /** The role's name, the value the `roles` claim carries; a change renames it in place. */
    name: pulumi.Input<string>;
    /** @default - none */
    description?: pulumi.Input<string>;
}

/** A realm role, managed over the Admin REST API. */
export class RealmRole extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    declare public readonly roleId: pulumi.Output<string>;
    declare public readonly realm: pulumi.Output<string>;

    constructor(name: string, args: RealmRoleArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, admin: pulumi.secret(args.admin), providerVersion: PROVIDER_VERSION, roleId: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["admin"] }), "keycloak", "RealmRole");
    }
}

/** The live roles of these names, for a role mapping; a name with no role fails, naming the fix. */
export async function realmRolesNamed(kc: import("./admin").AdminClient, realm: string, names: string[], forWhat: string): Promise<{ id: string; name: string }[]> {
    const found = await Promise.all(
        names.map(async (name) => {
            try {
                return { name, role: await unlessGone(() => kc.roles.findOneByName({ realm, name })) };
            } catch (err) {
                throw adminError(`${forWhat}: looking up role ${name}`, err);
            }
        }),
    );
    const missing = found.filter((f) => !f.role?.id).map((f) => f.name);
    if (missing.length) {
        throw new Error(
            `${forWhat}: realm ${realm} has no role ${missing.join(", ")}; fix: declare ${missing.length > 1 ? "them" : "it"} (a RealmRole) with dependsOn from this resource, or remove ${missing.length > 1 ? "them" : "it"} here`,
        );
    }
    return found.map((f) => ({ id: f.role!.id!, name: f.name }));
}

/** What to add and what to remove to turn the live set into the wanted one. */
export function reconcile(live: readonly string[], wanted: readonly string[]): { add: string[]; remove: string[] } {
    return { add: wanted.filter((w) => !live.includes(w)).sort(), remove: live.filter((l) => !wanted.includes(l)).sort() };
}
