// keycloak:User — a person of the realm, from the stack's config: username, email, names, and the
// groups they are in (authoritative: up puts the user in exactly these). The initial password is a
// secret input used once, on create, as a temporary password: Keycloak makes the user choose their
// own at the first login (the UPDATE_PASSWORD required action), and refuses tokens until then.
// It is never read back and never an output; changing it later changes nothing (the person has
// their own by then). Its ID is Keycloak's; a new username or realm replaces the user (deleted
// first: the email address must be free for the new one). read() returns the live profile and
// groups, so a user taken out of a group in the console is seen by refresh and put back by up.
import * as pulumi from "@pulumi/pulumi";
import { AdminClient, AdminEndpoint, adminClient, adminError, httpStatus, unlessGone } from "./admin";
import { adminFailures, diffScoped, isUnknown, knownProps, PROVIDER_VERSION, RealmScoped, realmFailures, sortedSet, textOrUndefined } from "./common";
import { reconcile } from "./role";
import { plain } from "../swarm/common";

export interface UserFields {
    username: string;
    email?: string;
    firstName?: string;
    lastName?: string;
    enabled: boolean;
    emailVerified: boolean;
    /** Names of top-level groups, sorted. */
    groups: string[];
}

export interface UserInputs extends RealmScoped, UserFields {
    /** The temporary password set on create (a secret input; never an output). */
    initialPassword: string;
}

export interface UserOutputs extends RealmScoped, UserFields {
    userId: string;
}

export const USER_FIELDS: (keyof UserFields)[] = ["username", "email", "firstName", "lastName", "enabled", "emailVerified", "groups"];
/** The required action a temporary password sets: choose your own at the first login. */
export const UPDATE_PASSWORD = "UPDATE_PASSWORD";

export function normalizeUser(news: Partial<UserInputs>): UserInputs {
    return { enabled: true, emailVerified: true, ...news, groups: isUnknown(news.groups) ? news.groups : sortedSet(news.groups) } as UserInputs;
}

export function userCheckFailures(news: UserInputs): pulumi.dynamic.CheckFailure[] {
    const f = [...adminFailures(news.admin), ...realmFailures(news.realm)];
    const u = news.username;
    if (!isUnknown(u)) {
        if (typeof u !== "string" || !/^[^\s/]{1,255}$/.test(u)) {
            f.push({ property: "username", reason: `username ${JSON.stringify(u)} is not valid: 1 to 255 characters without spaces or "/", e.g. "alice"` });
        } else if (u !== u.toLowerCase()) {
            f.push({ property: "username", reason: `username "${u}" has capitals, and Keycloak stores usernames in lower case (it would read back as "${u.toLowerCase()}"); fix: "${u.toLowerCase()}"` });
        }
    }
    const e = news.email;
    if (e !== undefined && !isUnknown(e)) {
        if (typeof e !== "string" || !/^[^\s@]+@[^\s@]+$/.test(e)) f.push({ property: "email", reason: `email ${JSON.stringify(e)} is not an email address; fix: e.g. "alice@example.com"` });
        else if (e !== e.toLowerCase()) f.push({ property: "email", reason: `email "${e}" has capitals, and Keycloak stores addresses in lower case; fix: "${e.toLowerCase()}"` });
    }
    if (!isUnknown(news.groups) && (!Array.isArray(news.groups) || news.groups.some((g) => typeof g !== "string" || g === "" || g.includes("/")))) {
        f.push({ property: "groups", reason: `groups must be a list of top-level group names, got ${JSON.stringify(news.groups)}; fix: e.g. ["analyst"]` });
    }
    // The value itself is never put in a message.
    if (!isUnknown(news.initialPassword) && (typeof news.initialPassword !== "string" || news.initialPassword === "")) {
        f.push({ property: "initialPassword", reason: `initialPassword is ${news.initialPassword === "" ? "empty" : "not text"}; fix: a temporary password that meets the realm's password policy (the user replaces it at the first login)` });
    }
    return f;
}

/** The Admin REST API's view of a user (the fields read back; the rest goes back as read on update). */
export interface UserView {
    id?: string;
    username?: string;
    email?: string;
    firstName?: string;
    lastName?: string;
    enabled?: boolean;
    emailVerified?: boolean;
    requiredActions?: string[];
    [k: string]: unknown;
}

/** A live group's name (its path without the leading /; a subgroup keeps its whole path). */
const groupName = (g: { name?: string; path?: string }) => (g.path ? g.path.replace(/^\//, "") : (g.name ?? ""));

export function userFieldsFromLive(v: UserView, groups: { name?: string; path?: string }[]): UserFields {
    return {
        username: v.username ?? "",
        ...(textOrUndefined(v.email) ? { email: v.email } : {}),
        ...(textOrUndefined(v.firstName) ? { firstName: v.firstName } : {}),
        ...(textOrUndefined(v.lastName) ? { lastName: v.lastName } : {}),
        enabled: !!v.enabled,
        emailVerified: !!v.emailVerified,
        groups: sortedSet(groups.map(groupName)),
    };
}

export function userOutputsFromLive(props: UserOutputs, live: UserView, groups: { name?: string; path?: string }[]): UserOutputs {
    const { email: _e, firstName: _f, lastName: _l, ...rest } = props;
    return { ...rest, ...userFieldsFromLive(live, groups) };
}

/** The outputs of these inputs: everything but the initial password. */
export function userOutputs(inputs: UserInputs, userId: string): UserOutputs {
    const { initialPassword: _secret, ...rest } = inputs;
    return { ...rest, userId };
}

export function userDiff(olds: UserOutputs, news: UserInputs) {
    return diffScoped<UserOutputs>(olds, news as unknown as UserOutputs, USER_FIELDS, ["realm", "username"]);
}

/** The user's profile as the Admin REST API takes it ("" clears a text field). */
export function renderUser(u: UserFields): Record<string, unknown> {
    return { username: u.username, email: u.email ?? "", firstName: u.firstName ?? "", lastName: u.lastName ?? "", enabled: u.enabled, emailVerified: u.emailVerified };
}

/** Puts the user in exactly `wanted` (top-level group names), as live now. */
async function setUserGroups(kc: AdminClient, realm: string, id: string, username: string, wanted: string[]): Promise<void> {
    const what = `setting the groups of user ${username} in realm ${realm}`;
    const call = async <T>(fn: () => Promise<T>): Promise<T> => {
        try {
            return await fn();
        } catch (err) {
            throw adminError(what, err);
        }
    };
    const live = (await call(() => kc.users.listGroups({ realm, id, briefRepresentation: true }))) as { id?: string; name?: string; path?: string }[];
    const { add, remove } = reconcile(live.map(groupName), wanted);
    const found = await call(() => Promise.all(add.map(async (name) => ({ name, group: await unlessGone(() => kc.realms.getGroupByPath({ realm, path: name })) }))));
    const missing = found.filter((g) => !g.group?.id).map((g) => g.name);
    if (missing.length) throw new Error(`${what} failed: realm ${realm} has no group ${missing.join(", ")}; fix: declare it (a Group) with dependsOn from this user, or remove it from groups`);
    await call(async () => {
        for (const g of found) await kc.users.addToGroup({ realm, id, groupId: g.group!.id! });
        for (const g of live.filter((l) => remove.includes(groupName(l)))) await kc.users.delFromGroup({ realm, id, groupId: g.id! });
    });
}

const provider: pulumi.dynamic.ResourceProvider<UserInputs, UserOutputs> = {
    async check(_olds, news) {
        const inputs = normalizeUser(news);
        return { inputs, failures: userCheckFailures(inputs) };
    },

    async create(inputs) {
        const kc = await adminClient(inputs.admin);
        const { realm, username } = inputs;
        let id: string;
        try {
            id = (await kc.users.create({ realm, ...renderUser(inputs), requiredActions: [UPDATE_PASSWORD] })).id;
        } catch (err) {
            const fix =
                httpStatus(err) === 409
                    ? `a user ${username}${inputs.email ? ` or one with the email ${inputs.email}` : ""} exists already in realm ${realm} and was not made by this stack: delete it in the admin console, or choose another username and email`
                    : undefined;
            throw adminError(`creating user ${username} in realm ${realm}`, err, fix);
        }
        try {
            // Through reset-password, so the realm's password policy applies to it too.
            try {
                await kc.users.resetPassword({ realm, id, credential: { type: "password", value: inputs.initialPassword, temporary: true } });
            } catch (err) {
                const fix = httpStatus(err) === 400 ? "choose an initial password that meets the realm's password policy" : undefined;
                throw adminError(`setting the initial password of user ${username} in realm ${realm}`, err, fix);
            }
            await setUserGroups(kc, realm, id, username, inputs.groups);
        } catch (err) {
            // Nothing half-made stays behind: the user goes again, the reason is kept.
            await unlessGone(() => kc.users.del({ realm, id })).catch(() => undefined);
            throw err;
        }
        return { id, outs: plain(userOutputs(inputs, id)) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "keycloak:User");
        const kc = await adminClient(props.admin);
        const live = (await unlessGone(() => kc.users.findOne({ realm: props.realm, id }))) as UserView | undefined;
        if (!live) return { id: "", props: {} as UserOutputs };
        const groups = ((await unlessGone(() => kc.users.listGroups({ realm: props.realm, id, briefRepresentation: true }))) ?? []) as { name?: string; path?: string }[];
        return { id, props: plain(userOutputsFromLive(props, live, groups)) };
    },

    async diff(_id, olds, news) {
        const d = userDiff(olds, news);
        return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: true };
    },

    async update(id, olds, news) {
        const changed = userDiff(olds, news).updates;
        const kc = await adminClient(news.admin);
        const { realm, username } = news;
        if (changed.some((k) => k !== "groups" && USER_FIELDS.includes(k as keyof UserFields))) {
            const live = (await unlessGone(() => kc.users.findOne({ realm, id }))) as UserView | undefined;
            if (!live) throw new Error(`updating user ${username} in realm ${realm} failed: it was deleted outside this stack; run pulumi refresh, then pulumi up to create it again`);
            try {
                // The rest (required actions, attributes) goes back as read.
                await kc.users.update({ realm, id }, { ...live, ...renderUser(news) });
            } catch (err) {
                throw adminError(`updating user ${username} in realm ${realm}`, err);
            }
        }
        if (changed.includes("groups")) await setUserGroups(kc, realm, id, username, news.groups);
        return { outs: plain(userOutputs(news, id)) };
    },

    async delete(id, props) {
        const kc = await adminClient(props.admin);
        try {
            await unlessGone(() => kc.users.del({ realm: props.realm, id }));
        } catch (err) {
            throw adminError(`deleting user ${props.username} in realm ${props.realm}`, err);
        }
    },
};

type In<T> = pulumi.Input<T>;

export interface UserArgs {
    /** How to reach Keycloak's Admin REST API (a secret). */
    admin: In<AdminEndpoint>;
    /** The realm (a Realm's `realm` output); a change replaces the user. */
    realm: In<string>;
    /** Lower case (Keycloak stores it so); a change replaces the user. */
    username: In<string>;
    /** Lower case. @default - none */
    email?: In<string>;
    /** @default - none */
    firstName?: In<string>;
    /** @default - none */
    lastName?: In<string>;
    /** @default - true */
    enabled?: In<boolean>;
    /** The address is known good (it comes from the stack's config). @default - true */
    emailVerified?: In<boolean>;
    /** Top-level groups the user is in, exactly these (make the user depend on their Groups). @default - none */
    groups?: In<In<string>[]>;
    /** A temporary password for the first login (then the user chooses their own). Stored as a secret; used on create only. */
    initialPassword: In<string>;
}

/** A person of the realm with a temporary first password, managed over the Admin REST API. */
export class User extends pulumi.dynamic.Resource {
    declare public readonly username: pulumi.Output<string>;
    declare public readonly userId: pulumi.Output<string>;
    declare public readonly groups: pulumi.Output<string[]>;

    constructor(name: string, args: UserArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            groups: [],
            ...args,
            admin: pulumi.secret(args.admin),
            initialPassword: pulumi.secret(args.initialPassword),
            providerVersion: PROVIDER_VERSION,
            userId: undefined,
        };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["admin", "initialPassword"] }), "keycloak", "User");
    }
}
