// keycloak:Realm — a realm: its password policy, brute-force protection, token and session
// lifespans and login settings. The realm's name is its ID (the Admin REST API addresses realms by
// name): a new name replaces the realm, and with it every user, group, role and client in it.
// Every other field updates in place. read() returns the live settings, so a setting changed in
// the admin console is seen by `pulumi refresh` and set back by `pulumi up`; a realm deleted there
// reads as gone (refresh drops it, up creates it again, empty).
import * as pulumi from "@pulumi/pulumi";
import { AdminEndpoint, adminClient, adminError, httpStatus, unlessGone } from "./admin";
import { adminFailures, diffScoped, isUnknown, knownProps, PROVIDER_VERSION, realmFailures, textOrUndefined } from "./common";
import { plain } from "../swarm/common";

export type SslRequired = "all" | "external" | "none";

/** Brute-force protection: after `failureFactor` failures a user is locked out for a while, longer each time. */
export interface BruteForce {
    enabled: boolean;
    /** Lock the user out for good (an administrator unlocks) instead of for a while. */
    permanentLockout: boolean;
    /** Login failures before a lockout. */
    failureFactor: number;
    /** How much longer each further lockout lasts. */
    waitIncrementSeconds: number;
    /** The longest temporary lockout. */
    maxFailureWaitSeconds: number;
    /** When the failure count starts again from zero. */
    maxDeltaTimeSeconds: number;
    /** Failures closer together than this count as a quick login (a script). */
    quickLoginCheckMilliSeconds: number;
    /** The lockout after a quick login failure. */
    minimumQuickLoginWaitSeconds: number;
}

export interface RealmFields {
    /** The realm's name (its ID, and part of every URL in it). */
    realm: string;
    displayName?: string;
    enabled: boolean;
    sslRequired: SslRequired;
    /** Keycloak's policy text, e.g. "length(12) and notUsername and notEmail and passwordHistory(3)". */
    passwordPolicy: string;
    bruteForce: BruteForce;
    accessTokenLifespan: number;
    ssoSessionIdleTimeout: number;
    ssoSessionMaxLifespan: number;
    loginWithEmailAllowed: boolean;
    duplicateEmailsAllowed: boolean;
    registrationAllowed: boolean;
    resetPasswordAllowed: boolean;
    rememberMe: boolean;
    verifyEmail: boolean;
    editUsernameAllowed: boolean;
}

export interface RealmInputs extends RealmFields {
    admin: AdminEndpoint;
    providerVersion: string;
}

export interface RealmOutputs extends RealmInputs {
    /** Keycloak's internal ID of the realm. */
    realmId: string;
}

export const DEFAULT_PASSWORD_POLICY = "length(12) and notUsername and notEmail and passwordHistory(3)";

/** What a realm gets for every field left out. */
export const REALM_DEFAULTS: Omit<RealmFields, "realm" | "displayName"> = {
    enabled: true,
    // HTTP only from loopback and private addresses (TLS ends at the edge, which sends X-Forwarded-Proto).
    sslRequired: "external",
    passwordPolicy: DEFAULT_PASSWORD_POLICY,
    bruteForce: {
        enabled: true,
        permanentLockout: false,
        failureFactor: 5,
        waitIncrementSeconds: 60,
        maxFailureWaitSeconds: 900,
        maxDeltaTimeSeconds: 43_200,
        quickLoginCheckMilliSeconds: 1000,
        minimumQuickLoginWaitSeconds: 60,
    },
    accessTokenLifespan: 300,
    ssoSessionIdleTimeout: 1800,
    ssoSessionMaxLifespan: 36_000,
    loginWithEmailAllowed: true,
    duplicateEmailsAllowed: false,
    registrationAllowed: false,
    // No mail server is configured: a reset link could not be sent.
    resetPasswordAllowed: false,
    rememberMe: false,
    verifyEmail: false,
    editUsernameAllowed: false,
};

export const REALM_FIELDS: (keyof RealmFields)[] = [
    "realm",
    "displayName",
    "enabled",
    "sslRequired",
    "passwordPolicy",
    "bruteForce",
    "accessTokenLifespan",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "loginWithEmailAllowed",
    "duplicateEmailsAllowed",
    "registrationAllowed",
    "resetPasswordAllowed",
    "rememberMe",
    "verifyEmail",
    "editUsernameAllowed",
];

/** Keycloak 26's password policy providers (the names its policy text may use). */
export const PASSWORD_POLICIES = [
    "length",
    "maxLength",
    "digits",
    "lowerCase",
    "upperCase",
    "specialChars",
    "notUsername",
    "notEmail",
    "notContainsUsername",
    "regexPattern",
    "passwordHistory",
    "passwordAge",
    "forceExpiredPasswordChange",
    "hashAlgorithm",
    "hashIterations",
    "passwordBlacklist",
    "maxAuthAge",
];

/** The realm's inputs with the defaults filled in (nested bruteForce fields one by one). */
export function withRealmDefaults(news: Partial<RealmInputs>): RealmInputs {
    const bruteForce = isUnknown(news.bruteForce) ? news.bruteForce : { ...REALM_DEFAULTS.bruteForce, ...(news.bruteForce ?? {}) };
    return { ...REALM_DEFAULTS, ...news, bruteForce } as RealmInputs;
}

/** The problems of a password policy text: its syntax, then each unknown policy name. */
export function passwordPolicyProblems(policy: string): string[] {
    if (policy.trim() === "") return [];
    const out: string[] = [];
    for (const term of policy.split(/\s+and\s+/)) {
        const m = /^([a-zA-Z]+)(?:\(([^()]*)\))?$/.exec(term.trim());
        if (!m) out.push(`passwordPolicy term ${JSON.stringify(term)} is not name or name(value); fix: join terms with " and ", e.g. "${DEFAULT_PASSWORD_POLICY}"`);
        else if (!PASSWORD_POLICIES.includes(m[1])) out.push(`passwordPolicy: ${JSON.stringify(m[1])} is not a Keycloak password policy; use one of ${PASSWORD_POLICIES.join(", ")}`);
    }
    return out;
}

const wholeSeconds = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 0;

/** check(): every problem at once, each with the value and the fix. */
export function realmCheckFailures(news: RealmInputs): pulumi.dynamic.CheckFailure[] {
    const f: pulumi.dynamic.CheckFailure[] = [...adminFailures(news.admin), ...realmFailures(news.realm)];
    if (!isUnknown(news.sslRequired) && !["all", "external", "none"].includes(news.sslRequired)) {
        f.push({ property: "sslRequired", reason: `sslRequired ${JSON.stringify(news.sslRequired)} is not all, external or none; fix: external (TLS ends at the edge)` });
    }
    if (typeof news.passwordPolicy === "string" && !isUnknown(news.passwordPolicy)) {
        for (const reason of passwordPolicyProblems(news.passwordPolicy)) f.push({ property: "passwordPolicy", reason });
    } else if (!isUnknown(news.passwordPolicy)) {
        f.push({ property: "passwordPolicy", reason: `passwordPolicy must be Keycloak's policy text, got ${JSON.stringify(news.passwordPolicy)}; fix: e.g. "${DEFAULT_PASSWORD_POLICY}"` });
    }
    for (const k of ["accessTokenLifespan", "ssoSessionIdleTimeout", "ssoSessionMaxLifespan"] as const) {
        if (!isUnknown(news[k]) && !wholeSeconds(news[k])) f.push({ property: k, reason: `${k} must be a whole number of seconds above 0, got ${JSON.stringify(news[k])}` });
    }
    if (wholeSeconds(news.ssoSessionIdleTimeout) && wholeSeconds(news.ssoSessionMaxLifespan) && news.ssoSessionIdleTimeout > news.ssoSessionMaxLifespan) {
        f.push({ property: "ssoSessionIdleTimeout", reason: `ssoSessionIdleTimeout ${news.ssoSessionIdleTimeout} s is longer than ssoSessionMaxLifespan ${news.ssoSessionMaxLifespan} s, so it never applies; fix: make it shorter` });
    }
    if (wholeSeconds(news.accessTokenLifespan) && wholeSeconds(news.ssoSessionIdleTimeout) && news.accessTokenLifespan >= news.ssoSessionIdleTimeout) {
        f.push({ property: "accessTokenLifespan", reason: `accessTokenLifespan ${news.accessTokenLifespan} s is not shorter than ssoSessionIdleTimeout ${news.ssoSessionIdleTimeout} s: a token would outlive its session; fix: e.g. 300` });
    }
    const bf = news.bruteForce as Partial<BruteForce> | undefined;
    if (bf && !isUnknown(bf)) {
        if (!Number.isInteger(bf.failureFactor) || (bf.failureFactor as number) < 1) {
            f.push({ property: "bruteForce", reason: `bruteForce.failureFactor must be a whole number of failures above 0, got ${JSON.stringify(bf.failureFactor)}; fix: e.g. 5` });
        }
        for (const k of ["waitIncrementSeconds", "maxFailureWaitSeconds", "maxDeltaTimeSeconds", "quickLoginCheckMilliSeconds", "minimumQuickLoginWaitSeconds"] as const) {
            if (!Number.isInteger(bf[k]) || (bf[k] as number) < 0) f.push({ property: "bruteForce", reason: `bruteForce.${k} must be a whole number from 0, got ${JSON.stringify(bf[k])}` });
        }
    }
    return f;
}

/** The realm's representation for the Admin REST API (only the managed fields: a PUT leaves the rest as it is). */
export function renderRealm(r: RealmFields): Record<string, unknown> {
    const bf = r.bruteForce;
    return {
        realm: r.realm,
        displayName: r.displayName ?? "",
        enabled: r.enabled,
        sslRequired: r.sslRequired,
        passwordPolicy: r.passwordPolicy,
        bruteForceProtected: bf.enabled,
        permanentLockout: bf.permanentLockout,
        failureFactor: bf.failureFactor,
        waitIncrementSeconds: bf.waitIncrementSeconds,
        maxFailureWaitSeconds: bf.maxFailureWaitSeconds,
        maxDeltaTimeSeconds: bf.maxDeltaTimeSeconds,
        quickLoginCheckMilliSeconds: bf.quickLoginCheckMilliSeconds,
        minimumQuickLoginWaitSeconds: bf.minimumQuickLoginWaitSeconds,
        accessTokenLifespan: r.accessTokenLifespan,
        ssoSessionIdleTimeout: r.ssoSessionIdleTimeout,
        ssoSessionMaxLifespan: r.ssoSessionMaxLifespan,
        loginWithEmailAllowed: r.loginWithEmailAllowed,
        duplicateEmailsAllowed: r.duplicateEmailsAllowed,
        registrationAllowed: r.registrationAllowed,
        resetPasswordAllowed: r.resetPasswordAllowed,
        rememberMe: r.rememberMe,
        verifyEmail: r.verifyEmail,
        editUsernameAllowed: r.editUsernameAllowed,
    };
}

/** The Admin REST API's view of a realm (the fields read back). */
export interface RealmView {
    id?: string;
    realm?: string;
    displayName?: string;
    enabled?: boolean;
    sslRequired?: string;
    passwordPolicy?: string;
    bruteForceProtected?: boolean;
    permanentLockout?: boolean;
    failureFactor?: number;
    waitIncrementSeconds?: number;
    maxFailureWaitSeconds?: number;
    maxDeltaTimeSeconds?: number;
    quickLoginCheckMilliSeconds?: number;
    minimumQuickLoginWaitSeconds?: number;
    accessTokenLifespan?: number;
    ssoSessionIdleTimeout?: number;
    ssoSessionMaxLifespan?: number;
    loginWithEmailAllowed?: boolean;
    duplicateEmailsAllowed?: boolean;
    registrationAllowed?: boolean;
    resetPasswordAllowed?: boolean;
    rememberMe?: boolean;
    verifyEmail?: boolean;
    editUsernameAllowed?: boolean;
}

/** The managed fields of a live realm. An absent policy reads as "" (none), absent flags as false. */
export function realmFieldsFromLive(v: RealmView): RealmFields {
    return {
        realm: v.realm ?? "",
        ...(textOrUndefined(v.displayName) ? { displayName: v.displayName } : {}),
        enabled: !!v.enabled,
        sslRequired: (v.sslRequired ?? "external") as SslRequired,
        passwordPolicy: v.passwordPolicy ?? "",
        bruteForce: {
            enabled: !!v.bruteForceProtected,
            permanentLockout: !!v.permanentLockout,
            failureFactor: v.failureFactor ?? 0,
            waitIncrementSeconds: v.waitIncrementSeconds ?? 0,
            maxFailureWaitSeconds: v.maxFailureWaitSeconds ?? 0,
            maxDeltaTimeSeconds: v.maxDeltaTimeSeconds ?? 0,
            quickLoginCheckMilliSeconds: v.quickLoginCheckMilliSeconds ?? 0,
            minimumQuickLoginWaitSeconds: v.minimumQuickLoginWaitSeconds ?? 0,
        },
        accessTokenLifespan: v.accessTokenLifespan ?? 0,
        ssoSessionIdleTimeout: v.ssoSessionIdleTimeout ?? 0,
        ssoSessionMaxLifespan: v.ssoSessionMaxLifespan ?? 0,
        loginWithEmailAllowed: !!v.loginWithEmailAllowed,
        duplicateEmailsAllowed: !!v.duplicateEmailsAllowed,
        registrationAllowed: !!v.registrationAllowed,
        resetPasswordAllowed: !!v.resetPasswordAllowed,
        rememberMe: !!v.rememberMe,
        verifyEmail: !!v.verifyEmail,
        editUsernameAllowed: !!v.editUsernameAllowed,
    };
}

/** The stored outputs after a read: the inputs with the live fields in place of the asked ones. */
export function realmOutputsFromLive(props: RealmOutputs, live: RealmView): RealmOutputs {
    const { displayName: _asked, ...rest } = props;
    return { ...rest, ...realmFieldsFromLive(live), realmId: live.id ?? props.realmId };
}

export function realmDiff(olds: RealmOutputs, news: RealmInputs) {
    return diffScoped<RealmInputs>(olds, news, REALM_FIELDS, ["realm"]);
}

const provider: pulumi.dynamic.ResourceProvider<RealmInputs, RealmOutputs> = {
    async check(_olds, news) {
        const inputs = withRealmDefaults(news);
        return { inputs, failures: realmCheckFailures(inputs) };
    },

    async create(inputs) {
        const kc = await adminClient(inputs.admin);
        try {
            await kc.realms.create(renderRealm(inputs));
        } catch (err) {
            const fix =
                httpStatus(err) === 409
                    ? `a realm ${inputs.realm} exists already and was not made by this stack: choose another name, or delete it in the admin console if nothing in it is needed`
                    : undefined;
            throw adminError(`creating realm ${inputs.realm}`, err, fix);
        }
        const live = await kc.realms.findOne({ realm: inputs.realm });
        return { id: inputs.realm, outs: plain({ ...inputs, realmId: live?.id ?? inputs.realm }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "keycloak:Realm");
        const kc = await adminClient(props.admin);
        const live = (await unlessGone(() => kc.realms.findOne({ realm: id }))) as RealmView | undefined;
        if (!live) return { id: "", props: {} as RealmOutputs };
        return { id, props: plain(realmOutputsFromLive(props, live)) };
    },

    async diff(_id, olds, news) {
        const d = realmDiff(olds, news);
        return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
    },

    async update(id, olds, news) {
        if (realmDiff(olds, news).updates.some((k) => REALM_FIELDS.includes(k as keyof RealmFields))) {
            const kc = await adminClient(news.admin);
            try {
                await kc.realms.update({ realm: id }, renderRealm(news));
            } catch (err) {
                const gone = httpStatus(err) === 404 ? "it was deleted outside this stack: run pulumi refresh, then pulumi up to create it again" : undefined;
                throw adminError(`updating realm ${id}`, err, gone);
            }
        }
        return { outs: plain({ ...news, realmId: olds.realmId }) };
    },

    async delete(id, props) {
        const kc = await adminClient(props.admin);
        try {
            await unlessGone(() => kc.realms.del({ realm: id }));
        } catch (err) {
            throw adminError(`deleting realm ${id}`, err);
        }
    },
};

type In<T> = pulumi.Input<T>;

export interface RealmArgs {
    /** How to reach Keycloak's Admin REST API (a secret: it holds the service account's secret). */
    admin: In<AdminEndpoint>;
    /** The realm's name; a change replaces the realm and everything in it. */
    realm: In<string>;
    /** The name the login page shows. @default - the realm's name */
    displayName?: In<string>;
    /** @default - true */
    enabled?: In<boolean>;
    /** Where Keycloak insists on HTTPS. @default - "external" (HTTP only from loopback and private addresses) */
    sslRequired?: In<SslRequired>;
    /** Keycloak's password policy text. @default - "length(12) and notUsername and notEmail and passwordHistory(3)" */
    passwordPolicy?: In<string>;
    /** Brute-force protection; fields left out take their default. @default - on: 5 failures, then 60 s more per lockout up to 15 min; the count restarts after 12 h */
    bruteForce?: In<Partial<BruteForce>>;
    /** Seconds an access token is valid. @default - 300 */
    accessTokenLifespan?: In<number>;
    /** Seconds a session lasts without use. @default - 1800 */
    ssoSessionIdleTimeout?: In<number>;
    /** Seconds a session lasts at most. @default - 36000 (10 h) */
    ssoSessionMaxLifespan?: In<number>;
    /** Sign in with the email address as well as the username. @default - true */
    loginWithEmailAllowed?: In<boolean>;
    /** @default - false */
    duplicateEmailsAllowed?: In<boolean>;
    /** People may register themselves. @default - false: accounts come from the stack's config */
    registrationAllowed?: In<boolean>;
    /** "Forgot password" on the login page (needs a mail server). @default - false */
    resetPasswordAllowed?: In<boolean>;
    /** @default - false */
    rememberMe?: In<boolean>;
    /** Ask people to verify their email address (needs a mail server). @default - false */
    verifyEmail?: In<boolean>;
    /** @default - false */
    editUsernameAllowed?: In<boolean>;
}

/** A Keycloak realm, managed over the Admin REST API. */
export class Realm extends pulumi.dynamic.Resource {
    declare public readonly realm: pulumi.Output<string>;
    declare public readonly realmId: pulumi.Output<string>;
    declare public readonly passwordPolicy: pulumi.Output<string>;
    declare public readonly bruteForce: pulumi.Output<BruteForce>;

    constructor(name: string, args: RealmArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, admin: pulumi.secret(args.admin), providerVersion: PROVIDER_VERSION, realmId: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["admin"] }), "keycloak", "Realm");
    }
}
