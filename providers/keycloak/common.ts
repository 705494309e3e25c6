// Shared types and helpers of the keycloak:* dynamic providers.
import * as pulumi from "@pulumi/pulumi";
import { AdminEndpoint, adminEndpointProblems } from "./admin";
import { changedKeys } from "../swarm/common";

/** Version of the providers' behaviour, stored with every resource (see STYLE: pulumi/pulumi#6490). */
export const PROVIDER_VERSION = "1";

/** What the engine sends for a value not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a value is, or holds, a value not known yet (check() skips those: preview cannot tell). */
export const isUnknown = (v: unknown): boolean => v === UNKNOWN || (typeof v === "object" && v !== null && JSON.stringify(v).includes(UNKNOWN));

/** The inputs every object in a realm carries: how to reach Keycloak, and which realm. */
export interface RealmScoped {
    admin: AdminEndpoint;
    realm: string;
    providerVersion: string;
}

/** Keycloak's realm names as its admin console accepts them (they become URL path segments). */
export const REALM_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$/;

export function adminFailures(admin: unknown): pulumi.dynamic.CheckFailure[] {
    if (isUnknown(admin)) return [];
    return adminEndpointProblems(admin as Partial<AdminEndpoint>).map((reason) => ({ property: "admin", reason }));
}

/** The realm a resource belongs to: a realm name, and not master (Keycloak's own administrators live there). */
export function realmFailures(realm: unknown, property = "realm"): pulumi.dynamic.CheckFailure[] {
    if (isUnknown(realm)) return [];
    if (typeof realm !== "string" || !REALM_NAME_RE.test(realm)) {
        return [{ property, reason: `realm ${JSON.stringify(realm)} is not a realm name: use letters, digits and - _ . (at most 100), e.g. "platform"` }];
    }
    if (realm === "master") {
        return [{ property, reason: `realm "master" holds Keycloak's own administrators and is not managed here; fix: use a realm of your own, e.g. "platform"` }];
    }
    return [];
}

/** A sorted copy without duplicates (Keycloak keeps these as sets and lists them in no fixed order). */
export const sortedSet = (a: readonly string[] | undefined): string[] => [...new Set(a ?? [])].sort();

/** Whether a string field holds text; "" and absent alike read back as undefined. */
export const textOrUndefined = (s: string | undefined | null): string | undefined => (s === undefined || s === null || s === "" ? undefined : s);

/**
 * diff() of an object in a realm: another realm replaces it (an object cannot move), `replaceKeys`
 * too; the managed fields update in place; the endpoint (another URL, a rotated secret) and the
 * provider version update the stored outputs only: the same Keycloak reached another way is the
 * same object, and replacing a realm on a new URL would lose its users.
 */
export function diffScoped<T extends { providerVersion: string; admin: AdminEndpoint }>(olds: T, news: T, fields: (keyof T)[], replaceKeys: (keyof T)[]) {
    const replaces = changedKeys<T>(olds, news, replaceKeys) as string[];
    const updates = changedKeys<T>(olds, news, [...fields, "admin", "providerVersion"]).filter((k) => !replaces.includes(k as string)) as string[];
    return { changes: replaces.length + updates.length > 0, replaces, updates };
}

/** read() gets no properties on `pulumi import`; these resources need their admin endpoint to be read. */
export function knownProps<T>(props: T | undefined, type: string): T {
    if (!props || !(props as { admin?: unknown }).admin) throw new Error(`${type} cannot be imported by ID alone: it needs its admin endpoint; declare it in the program instead`);
    return props;
}
