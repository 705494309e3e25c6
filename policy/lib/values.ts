// Reading resource properties the way the engine hands them to a policy, without tripping over
// values that are unknown during preview.
//
// The engine sends `props` wrapped in @pulumi/policy's unknown-checking proxy: reading a value
// that is not known yet (an ID or address another resource outputs) throws, and @pulumi/policy
// then reports "can't run policy … during preview" as an advisory for that policy. Our rules never
// fail on an unknown value and never want that noise, so they read the plain properties (`raw`)
// and ask `isUnknown` before they decide: an unknown value is skipped, a missing one is checked.

/** What we use of @pulumi/policy's proxy module (its typings leave these internals out). */
interface PolicyProxyModule {
    unknownCheckingProxy<T>(props: T): T;
    getSpecialProxyTarget: string;
    unknownBooleanValue: string;
    unknownNumberValue: string;
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownAssetValue: string;
    unknownArchiveValue: string;
    unknownObjectValue: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy: PolicyProxyModule = require("@pulumi/policy/proxy");

/** Wraps plain properties the way the engine hands them to a policy (tests use it). */
export const engineProxy = <T>(props: T): T => proxy.unknownCheckingProxy(props);

/** The sentinel of an unknown string/number/boolean/array/object (tests use them). */
export const UNKNOWN = {
    string: proxy.unknownStringValue,
    number: proxy.unknownNumberValue,
    boolean: proxy.unknownBooleanValue,
    array: proxy.unknownArrayValue,
    object: proxy.unknownObjectValue,
} as const;

/** The sentinels the engine uses for values not known during preview (one per kind of value). */
const UNKNOWNS: ReadonlySet<unknown> = new Set([
    proxy.unknownBooleanValue,
    proxy.unknownNumberValue,
    proxy.unknownStringValue,
    proxy.unknownArrayValue,
    proxy.unknownAssetValue,
    proxy.unknownArchiveValue,
    proxy.unknownObjectValue,
]);

/** True when `v` is a value the engine does not know yet (preview only). */
export function isUnknown(v: unknown): boolean {
    return UNKNOWNS.has(v);
}

/** True when `v` is unknown or holds an unknown value anywhere inside it. */
export function hasUnknown(v: unknown): boolean {
    if (isUnknown(v)) return true;
    if (Array.isArray(v)) return v.some(hasUnknown);
    if (v && typeof v === "object") return Object.values(v as Record<string, unknown>).some(hasUnknown);
    return false;
}

/** The plain properties behind the engine's proxy (or the object itself when it is not one). */
export function raw<T = Record<string, unknown>>(props: unknown): T {
    if (props && typeof props === "object") {
        const target = (props as Record<string, unknown>)[proxy.getSpecialProxyTarget];
        if (target !== undefined && target !== true) return target as T;
    }
    return props as T;
}

/** A plain object (not an array, not unknown), for walking nested inputs. */
export function isObject(v: unknown): v is Record<string, unknown> {
    return !!v && typeof v === "object" && !Array.isArray(v) && !isUnknown(v);
}

/** `v` as a known string, or undefined (missing, unknown or another type). */
export function knownString(v: unknown): string | undefined {
    return typeof v === "string" && !isUnknown(v) ? v : undefined;
}

/** The known elements of an array input (an unknown array gives none). */
export function knownItems(v: unknown): unknown[] {
    return Array.isArray(v) ? v.filter((x) => !isUnknown(x)) : [];
}
