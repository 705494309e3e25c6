// Pooled SSH sessions: one connection per host (and one to the bastion) per process, shared by
// every resource operation of a `pulumi up/preview/refresh` run. The pool lives on globalThis and
// is created at call time: the dynamic providers that use it are serialized into the state, so
// nothing that holds a socket may be captured at module scope (and each serialized provider has
// its own copy of this module, while all of them share the process).
//
// Connecting is retried where it is safe (network errors before authentication); a host-key
// mismatch or an authentication failure is never retried. With `alternates`, a host that cannot be
// reached, or whose Docker daemon does not answer, is replaced by the next one.
import ssh2 = require("ssh2");
import {
    ClientSource,
    connectClient,
    dockerOver,
    execOn,
    forwardOut,
    probeTcpOn,
    openTcpOn,
    isHostKeyMismatch,
    SshEndpoint,
    SshSession,
    SshTarget,
} from "./client";

export { formatHostKey, hostKeyMatches, hostKeyMismatch, isHostKeyMismatch, openSession } from "./client";
export type { ExecResult, SshEndpoint, SshSession, SshTarget, TcpProbe } from "./client";

interface Pooled {
    key: string;
    /** The pool key of the bastion connection this one runs through. */
    via?: string;
    client: Promise<ssh2.Client>;
    active: number;
    lastUsed: number;
}

interface Pool {
    entries: Map<string, Pooled>;
    /** SSH handshakes made by this process, for tests and the bench. */
    handshakes: number;
    timer?: NodeJS.Timeout;
}

/** How long an unused pooled connection stays open. @default - 30 s (SWARM_ETL_SSH_IDLE_MS) */
function idleMs(): number {
    return Number(process.env.SWARM_ETL_SSH_IDLE_MS ?? 30_000);
}

function pool(): Pool {
    const g = globalThis as unknown as Record<symbol, Pool | undefined>;
    const key = Symbol.for("swarm-etl.ssh-pool");
    let p = g[key];
    if (!p) {
        p = { entries: new Map(), handshakes: 0 };
        g[key] = p;
    }
    if (!p.timer) {
        const owner = p;
        // Close connections nobody used for a while; the timer never keeps the process alive.
        owner.timer = setInterval(() => {
            const bastionsInUse = new Set([...owner.entries.values()].map((e) => e.via).filter((v) => v));
            for (const [k, e] of owner.entries) {
                // A bastion connection stays while any host connection runs through it.
                if (k.startsWith("bastion:") && bastionsInUse.has(k)) continue;
                if (e.active === 0 && Date.now() - e.lastUsed > idleMs()) {
                    owner.entries.delete(k);
                    e.client.then((c) => c.end()).catch(() => undefined);
                }
            }
        }, Math.min(5_000, Math.max(100, idleMs() / 2)));
        owner.timer.unref();
    }
    return p;
}

/** Whether pooling is on (SWARM_ETL_SSH_POOL=0 turns it off: one connection per operation, as peers do). */
function pooling(): boolean {
    return process.env.SWARM_ETL_SSH_POOL !== "0";
}

const endpointKey = (e: SshEndpoint) => `${e.user}@${e.host}:${e.port}#${e.hostKey}`;

function isRetryable(err: unknown): boolean {
    if (isHostKeyMismatch(err)) return false;
    const m = String((err as Error)?.message ?? err);
    if (/authentication|auth methods|permission denied/i.test(m)) return false;
    return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|timed out|handshake|Connection lost|could not reach/i.test(m);
}

async function withRetries<T>(what: () => Promise<T>, attempts = 3): Promise<T> {
    for (let i = 1; ; i++) {
        try {
            return await what();
        } catch (err) {
            if (i >= attempts || !isRetryable(err)) throw err;
            await new Promise((r) => setTimeout(r, 300 * i));
        }
    }
}

function track(p: Pool, key: string, make: () => Promise<ssh2.Client>, via?: string): Pooled {
    let e = p.entries.get(key);
    if (!e) {
        const client = make();
        const entry: Pooled = { key, via, client, active: 0, lastUsed: Date.now() };
        e = entry;
        p.entries.set(key, entry);
        const evict = () => {
            if (p.entries.get(key) === entry) p.entries.delete(key);
        };
        client.then((c) => c.once("close", evict).once("end", evict), evict);
    }
    return e;
}

const bastionKey = (b: SshEndpoint) => `bastion:${endpointKey(b)}`;

function bastionClient(p: Pool, bastion: SshEndpoint, privateKey: string, timeout: number): Pooled {
    return track(p, bastionKey(bastion), () =>
        withRetries(() => {
            p.handshakes++;
            return connectClient(bastion, privateKey, timeout);
        }),
    );
}

function hostClient(p: Pool, target: SshTarget, timeout: number, attempts: number): Pooled {
    const key = `host:${endpointKey(target)}|via:${target.bastion ? endpointKey(target.bastion) : "-"}`;
    return track(p, key, () =>
        withRetries(async () => {
            const jump = target.bastion ? await bastionClient(p, target.bastion, target.privateKey, timeout).client : undefined;
            const sock = jump && target.bastion ? await forwardOut(jump, target.bastion, target, timeout) : undefined;
            p.handshakes++;
            return connectClient(target, target.privateKey, timeout, sock);
        }, attempts),
        target.bastion ? bastionKey(target.bastion) : undefined,
    );
}

function sessionOn(source: ClientSource, target: SshTarget, close: () => void): SshSession {
    return {
        target,
        close,
        exec: (command, timeoutMs = 120_000) => execOn(source, target, command, timeoutMs),
        docker: () => dockerOver(source, target),
        probeTcp: (host, port, timeoutMs) => probeTcpOn(source, host, port, timeoutMs),
        openTcp: (host, port) => openTcpOn(source, target, host, port),
    };
}

async function acquire(target: SshTarget, attempts: number): Promise<{ session: SshSession; release: () => void }> {
    const p = pool();
    const timeout = target.connectTimeoutMs ?? 20_000;
    if (!pooling()) {
        const jump = target.bastion ? await (p.handshakes++, connectClient(target.bastion, target.privateKey, timeout)) : undefined;
        try {
            const sock = jump && target.bastion ? await forwardOut(jump, target.bastion, target, timeout) : undefined;
            p.handshakes++;
            const client = await connectClient(target, target.privateKey, timeout, sock);
            const close = () => {
                client.end();
                jump?.end();
            };
            return { session: sessionOn(() => Promise.resolve(client), target, close), release: close };
        } catch (err) {
            jump?.end();
            throw err;
        }
    }
    const entry = hostClient(p, target, timeout, attempts);
    entry.active++;
    try {
        const client = await entry.client;
        // Channels go to the pooled connection; when it died meanwhile, to its successor.
        const source: ClientSource = (fresh) => {
            if (fresh) {
                const current = p.entries.get(entry.key);
                if (current && current.client === entry.client) p.entries.delete(entry.key);
                client.end();
            }
            return fresh ? hostClient(p, target, timeout, attempts).client : Promise.resolve(client);
        };
        const release = () => {
            entry.active--;
            entry.lastUsed = Date.now();
        };
        return { session: sessionOn(source, target, () => undefined), release };
    } catch (err) {
        entry.active--;
        throw err;
    }
}

/**
 * Runs `fn` with a session to `target` (pooled), or to the first of its `alternates` that answers
 * when it does not. Errors of `fn` itself are not retried: an operation may not be idempotent.
 */
export async function withSession<T>(target: SshTarget, fn: (s: SshSession) => Promise<T>): Promise<T> {
    const candidates: SshTarget[] = [target, ...(target.alternates ?? []).map((a) => ({ ...target, ...a, alternates: undefined }))];
    const failures: string[] = [];
    for (const candidate of candidates) {
        let acquired: { session: SshSession; release: () => void };
        try {
            // With alternates, the next host is the retry.
            acquired = await acquire(candidate, candidates.length > 1 ? 1 : 3);
            // With alternates, a reachable host whose daemon does not answer is skipped too.
            if (candidates.length > 1) await acquired.session.docker().ping();
        } catch (err) {
            if (isHostKeyMismatch(err) || candidates.length === 1) throw err;
            failures.push(`${candidate.name}: ${(err as Error).message}`);
            continue;
        }
        try {
            return await fn(acquired.session);
        } finally {
            acquired.release();
        }
    }
    throw new Error(`no manager of the swarm could be reached (tried ${candidates.map((c) => c.name).join(", ")}): ${failures.join("; ")}`);
}

/** Closes every pooled connection of this process (tests call it when they finish). */
export async function closeAllSessions(): Promise<void> {
    const p = pool();
    const entries = [...p.entries.values()];
    p.entries.clear();
    if (p.timer) clearInterval(p.timer);
    p.timer = undefined;
    // A connection still being made is ended when it settles; nobody waits for it here.
    for (const e of entries) e.client.then((c) => c.end()).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
}

/** SSH handshakes this process made so far. */
export function handshakeCount(): number {
    return pool().handshakes;
}
