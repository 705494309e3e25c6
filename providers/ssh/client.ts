// SSH client pieces (connection.ts pools them): one hop through the bastion (ssh2 forwardOut) with pinned host keys on both
// hops, command execution, and the Docker Engine API over the SSH channel
// (`direct-streamlocal` to /var/run/docker.sock, used as the socket of dockerode's HTTP agent).
//
// Nothing here is kept at module scope: the dynamic providers that use it are serialized into
// the state, so every connection is made inside a call and closed by its caller.
//
// Imports use `import x = require(...)`: the closure serializer of dynamic providers recognizes
// a captured module object and emits a `require` for it, but not the wrappers `import * as`
// and default imports create under esModuleInterop.
import http = require("http");
import ssh2 = require("ssh2");
import Docker = require("dockerode");
import type { Duplex } from "stream";

type Client = ssh2.Client;
type ConnectConfig = ssh2.ConnectConfig;

/** One SSH endpoint. `hostKey` is the pinned public host key: "<type> <base64>". */
export interface SshEndpoint {
    /** Name of the host, used in error messages. */
    name: string;
    host: string;
    port: number;
    user: string;
    hostKey: string;
}

/** A host reached through the bastion (or directly when `bastion` is absent). */
export interface SshTarget extends SshEndpoint {
    bastion?: SshEndpoint;
    /**
     * Other hosts that can serve the same requests (the other managers of a swarm), tried in
     * order when this one cannot be reached or its Docker daemon does not answer.
     */
    alternates?: SshEndpoint[];
    /** The private key (PEM/OpenSSH text) used for the bastion and the host. */
    privateKey: string;
    /** Timeout of the TCP connect and SSH handshake of each hop. @default - 20 s */
    connectTimeoutMs?: number;
}

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** An open connection to one host; `close()` ends both hops. */
export interface SshSession {
    readonly target: SshTarget;
    exec(command: string, timeoutMs?: number): Promise<ExecResult>;
    /** A Docker Engine API client whose every request is a new channel to the host's docker.sock. */
    docker(): Docker;
    /** Whether `host:port` accepts a TCP connection made by this host's sshd (no binary needed on the host). */
    probeTcp(host: string, port: number, timeoutMs?: number): Promise<TcpProbe>;
    /** A TCP stream to `host:port` made by this host's sshd (direct-tcpip): a tunnel's one connection. */
    openTcp(host: string, port: number): Promise<Duplex>;
    close(): void;
}

/** open: connected; refused: the host answered (nothing listens yet); blocked: no answer (a firewall, a dead host). */
export type TcpProbe = { result: "open" | "refused" | "blocked"; detail: string };

export function probeTcpOn(source: ClientSource, host: string, port: number, timeoutMs = 5_000): Promise<TcpProbe> {
    return source(false).then(
        (c) =>
            new Promise<TcpProbe>((resolve) => {
                const timer = setTimeout(() => resolve({ result: "blocked", detail: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
                try {
                    c.forwardOut("127.0.0.1", 0, host, port, (err, stream) => {
                        clearTimeout(timer);
                        if (!err) {
                            stream.on("error", () => undefined);
                            stream.end();
                            stream.destroy();
                            resolve({ result: "open", detail: "connected" });
                        } else if (/refused/i.test(err.message)) {
                            resolve({ result: "refused", detail: err.message });
                        } else {
                            resolve({ result: "blocked", detail: err.message });
                        }
                    });
                } catch (err) {
                    clearTimeout(timer);
                    resolve({ result: "blocked", detail: (err as Error).message });
                }
            }),
    );
}

export function openTcpOn(source: ClientSource, target: SshEndpoint, host: string, port: number): Promise<Duplex> {
    return openChannel<ssh2.ClientChannel>(source, (c, done) => c.forwardOut("127.0.0.1", 0, host, port, (err, ch) => done(err, ch))).catch((err: Error) => {
        throw new Error(`${target.name} cannot open a TCP connection to ${host}:${port}: ${err.message}`);
    });
}

/**
 * The error raised when a host presents a key other than the pinned one. A plain Error with a
 * marker, not a subclass: the closure serializer of dynamic providers mangles `class … extends Error`.
 */
export function hostKeyMismatch(endpoint: SshEndpoint, presented: string): Error {
    const err = new Error(
        `host key of ${endpoint.name} (${endpoint.host}:${endpoint.port}) does not match the pinned key: ` +
            `expected ${endpoint.hostKey}, the host presented ${presented}. The connection was refused. ` +
            `If the host was re-keyed on purpose, update the hostKey of ${endpoint.name} in the stack config ` +
            `(e.g. from \`ssh-keyscan -t ed25519 ${endpoint.host}\` run from the bastion); otherwise treat it as an attack.`,
    );
    err.name = "HostKeyMismatchError";
    return err;
}

export function isHostKeyMismatch(err: unknown): boolean {
    return (err as Error)?.name === "HostKeyMismatchError";
}

/** Compares the raw key blob ssh2 hands to `hostVerifier` with the pinned "<type> <base64>" key. */
export function hostKeyMatches(pinned: string, presented: Buffer): boolean {
    const blob = pinned.trim().split(/\s+/)[1];
    return blob !== undefined && Buffer.from(blob, "base64").equals(presented);
}

/** Formats a raw key blob as "<type> <base64>" (the type is the first field of the blob). */
export function formatHostKey(blob: Buffer): string {
    const len = blob.readUInt32BE(0);
    return `${blob.subarray(4, 4 + len).toString()} ${blob.toString("base64")}`;
}

export function connectClient(endpoint: SshEndpoint, privateKey: string, timeoutMs: number, sock?: Duplex): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new ssh2.Client();
        let mismatch: Error | undefined;
        const cfg: ConnectConfig = {
            host: endpoint.host,
            port: endpoint.port,
            username: endpoint.user,
            privateKey,
            readyTimeout: timeoutMs,
            keepaliveInterval: 10_000,
            keepaliveCountMax: 3,
            hostVerifier: (key: Buffer) => {
                if (hostKeyMatches(endpoint.hostKey, key)) return true;
                mismatch = hostKeyMismatch(endpoint, formatHostKey(key));
                return false;
            },
        };
        if (sock) cfg.sock = sock as ConnectConfig["sock"];
        client
            .once("ready", () => resolve(client))
            .once("error", (err: Error) => {
                client.end();
                reject(mismatch ?? new Error(`SSH to ${endpoint.name} (${endpoint.user}@${endpoint.host}:${endpoint.port}) failed: ${err.message}`));
            })
            .connect(cfg);
        // Every Docker API call is a request and a response of a few small SSH packets. With
        // Nagle's algorithm on the TCP socket (ssh2's default), each waits for the peer's delayed
        // ACK: ~90 ms per call through the bastion instead of ~8 ms (bench/results/ssh-latency.md).
        // A hop that runs over a channel (sock given) has no TCP socket of its own; ssh2 skips it.
        // SWARM_ETL_SSH_NODELAY=0 keeps Nagle on: only the bench uses it, as its baseline.
        if (process.env.SWARM_ETL_SSH_NODELAY !== "0") client.setNoDelay(true);
    });
}

export function forwardOut(jump: Client, via: SshEndpoint, to: SshEndpoint, timeoutMs: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
        const fail = (why: string) => reject(new Error(`the bastion ${via.name} could not reach ${to.name} (${to.host}:${to.port}): ${why}`));
        // Neither a silent bastion nor one that closes meanwhile may leave this pending.
        const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
        const onClose = () => fail("the connection to the bastion closed");
        jump.once("close", onClose);
        try {
            jump.forwardOut("127.0.0.1", 0, to.host, to.port, (err, stream) => {
                clearTimeout(timer);
                jump.removeListener("close", onClose);
                if (err) fail(err.message);
                else resolve(stream);
            });
        } catch (err) {
            clearTimeout(timer);
            jump.removeListener("close", onClose);
            fail((err as Error).message);
        }
    });
}

/** Opens an SSH session to `target`, through its bastion when it has one. */
export async function openSession(target: SshTarget): Promise<SshSession> {
    const timeout = target.connectTimeoutMs ?? 20_000;
    const jump = target.bastion ? await connectClient(target.bastion, target.privateKey, timeout) : undefined;
    let client: Client;
    try {
        const sock = jump && target.bastion ? await forwardOut(jump, target.bastion, target, timeout) : undefined;
        client = await connectClient(target, target.privateKey, timeout, sock);
    } catch (err) {
        jump?.end();
        throw err;
    }
    const close = () => {
        client.end();
        jump?.end();
    };
    return {
        target,
        close,
        exec: (command, timeoutMs = 120_000) => execOn(() => Promise.resolve(client), target, command, timeoutMs),
        docker: () => dockerOver(() => Promise.resolve(client), target),
        probeTcp: (host, port, timeoutMs) => probeTcpOn(() => Promise.resolve(client), host, port, timeoutMs),
        openTcp: (host, port) => openTcpOn(() => Promise.resolve(client), target, host, port),
    };
}


/**
 * Gives the connection to use for the next channel: the pool hands out a fresh connection when
 * the previous one died, so a channel that could not be opened (the request was never sent) is
 * retried once on a new connection. Nothing that reached the daemon is ever sent twice.
 */
export type ClientSource = (fresh: boolean) => Promise<Client>;

function openChannel<T>(source: ClientSource, open: (c: Client, cb: (err: Error | undefined, ch: T) => void) => void): Promise<T> {
    const attempt = (fresh: boolean) =>
        source(fresh).then(
            (c) =>
                new Promise<T>((resolve, reject) => {
                    // A connection that died silently must not leave the request pending.
                    const timer = setTimeout(() => reject(new Error("Channel open failure: no answer within 30 s")), 30_000);
                    const settle = (err: Error | undefined, ch: T) => {
                        clearTimeout(timer);
                        if (err) reject(err);
                        else resolve(ch);
                    };
                    try {
                        open(c, settle);
                    } catch (err) {
                        clearTimeout(timer);
                        reject(err as Error); // ssh2 throws "Not connected" on a closed connection
                    }
                }),
        );
    return attempt(false).catch((err: Error) => {
        if (!/Not connected|No response from server|Channel open failure|connection closed/i.test(err.message)) throw err;
        return attempt(true);
    });
}

export function execOn(source: ClientSource, target: SshEndpoint, command: string, timeoutMs: number): Promise<ExecResult> {
    return openChannel<ssh2.ClientChannel>(source, (c, cb) => c.exec(command, (err, ch) => cb(err, ch))).then(
        (stream) =>
            new Promise<ExecResult>((resolve, reject) => {
                let stdout = "";
                let stderr = "";
                const timer = setTimeout(() => {
                    stream.close();
                    reject(new Error(`command on ${target.name} did not finish within ${timeoutMs / 1000} s: ${command}`));
                }, timeoutMs);
                stream.on("data", (d: Buffer) => (stdout += d.toString()));
                stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                stream.on("close", (code: number | null) => {
                    clearTimeout(timer);
                    resolve({ code: code ?? -1, stdout, stderr });
                });
            }),
        (err: Error) => {
            throw new Error(`cannot run a command on ${target.name}: ${err.message}`);
        },
    );
}

export function dockerOver(source: ClientSource, target: SshEndpoint): Docker {
    const agent = new http.Agent({ keepAlive: false });
    // http.Agent supports an asynchronous createConnection(options, callback).
    (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
        openChannel<ssh2.ClientChannel>(source, (c, done) => c.openssh_forwardOutStreamLocal("/var/run/docker.sock", (err, ch) => done(err, ch))).then(
            (stream) => {
                // Node's http client treats its socket as a net.Socket; an SSH channel has none of these.
                const socketLike = stream as unknown as Record<string, unknown>;
                for (const m of ["setTimeout", "setNoDelay", "setKeepAlive", "ref", "unref"]) {
                    if (typeof socketLike[m] !== "function") socketLike[m] = () => stream;
                }
                cb(null, stream);
            },
            (err: Error) => cb(new Error(`cannot reach the Docker API of ${target.name} over SSH: ${err.message}`)),
        );
        return undefined;
    };
    return new Docker({ protocol: "http", host: "docker", port: 80, agent, timeout: 120_000 } as Docker.DockerOptions);
}
