// Shared types and helpers of the Swarm dynamic providers.
import type { SshEndpoint, SshTarget } from "../ssh/connection";

/** How the provider reaches one host: its SSH endpoint and, when set, the bastion in front of it. */
export interface HostConnection extends SshEndpoint {
    bastion?: SshEndpoint;
    /** Other hosts that serve the same requests (the other managers), used when this one is down. */
    alternates?: SshEndpoint[];
}

/** The two inputs every Swarm resource carries: where to connect, and the key (a secret). */
export interface ConnectionInputs {
    connection: HostConnection;
    privateKey: string;
}

export function toTarget(c: ConnectionInputs): SshTarget {
    return { ...c.connection, privateKey: c.privateKey };
}

/** Version of the provider's behaviour, stored with every resource (see STYLE: pulumi/pulumi#6490). */
export const PROVIDER_VERSION = "2";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The daemon's own message from a dockerode error (its JSON body), else the error text. */
export function daemonMessage(err: unknown): string {
    const e = err as { json?: { message?: string }; message?: string; statusCode?: number };
    return e?.json?.message ?? e?.message ?? String(err);
}

export function statusCode(err: unknown): number | undefined {
    return (err as { statusCode?: number })?.statusCode;
}

/**
 * A manager's answer while the swarm's Raft has no leader or cannot commit in time (a manager was
 * just lost and the others are electing): the write may or may not have been applied, and the same
 * request through the same manager succeeds once a leader is elected. Callers read again and retry.
 */
export function isRaftTransient(err: unknown): boolean {
    const code = statusCode(err);
    if (code !== undefined && code !== 500 && code !== 503) return false;
    return /context deadline exceeded|code = DeadlineExceeded|does not have a leader|code = Unavailable/i.test(String((err as Error)?.message ?? err));
}

/** Polls `check` until it returns a value, or throws the last reason after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | string>, intervalMs = 1000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
        const r = await check();
        if (typeof r !== "string") return r;
        last = r;
        if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}: ${last}`);
        await sleep(intervalMs);
    }
}

/** Keys whose values differ between two plain JSON-like objects (deep compare). */
export function changedKeys<T extends object>(olds: Partial<T>, news: Partial<T>, keys: (keyof T)[]): (keyof T)[] {
    return keys.filter((k) => JSON.stringify(canonical(olds[k])) !== JSON.stringify(canonical(news[k])));
}

/** Sorts object keys recursively and treats undefined, null, [] and {} alike, so equal specs compare equal. */
export function canonical(v: unknown): unknown {
    if (v === null || v === undefined) return undefined;
    if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(canonical);
    if (typeof v === "object") {
        const entries = Object.entries(v as Record<string, unknown>)
            .map(([k, x]) => [k, canonical(x)] as const)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return entries.length === 0 ? undefined : Object.fromEntries(entries);
    }
    return v;
}

/** read() gets no properties on `pulumi import`; these resources need their connection to be read. */
export function knownProps<T>(props: T | undefined, type: string): T {
    if (!props) throw new Error(`${type} cannot be imported by ID alone: it needs its connection; declare it in the program instead`);
    return props;
}

/** A JSON-clean copy: the engine's protobuf Struct rejects `undefined` values ("Unexpected struct type"). */
export function plain<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

/** A copy of `o` without its undefined and null fields. */
export function stripUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}

/** The array, or undefined when it is empty. */
export const nonEmpty = <T>(a: T[] | undefined): T[] | undefined => (a && a.length ? a : undefined);

/** The map, or undefined when it is empty. */
export const nonEmptyMap = <T>(m: Record<string, T> | undefined): Record<string, T> | undefined => (m && Object.keys(m).length ? m : undefined);
