// A tunnel to one port of a service's task, through the SSH transport: nothing is published. A
// task on an overlay network also has an endpoint on its node's docker_gwbridge, which that
// node's sshd can reach; a local listener on 127.0.0.1 hands each connection to a direct-tcpip
// channel of the pooled SSH connection to that node. The realm-as-code resources reach
// Keycloak's Admin REST API this way (its port stays inside the swarm).
//
// `serviceTunnelUrl` keeps one tunnel per (manager, service, port) open for the process (on
// globalThis, its listener unref'd, like the SSH pool), for clients that cache the URL they were
// given. It looks the task up again for a new TCP connection when its last lookup is older than
// 10 s or failed, so a task Swarm moved or restarted is found again.
// `import = require`, not `import * as`: the closure serializer then sees the module itself (and emits
// require("net")) instead of an esModuleInterop copy of it, which it would try to serialize by value.
import net = require("net");
import { withSession } from "../ssh/connection";
import { ConnectionInputs, HostConnection, toTarget } from "./common";

export interface ServiceTunnelArgs extends ConnectionInputs {
    /** Every node's SSH connection, by its hostname in the swarm (the task may run on any). */
    nodeConnections: Record<string, HostConnection>;
    service: string;
    port: number;
}

/** The running task's node and its address on that node's docker_gwbridge. */
export async function taskAddress(a: ServiceTunnelArgs): Promise<{ node: string; address: string }> {
    const found = await withSession(toTarget(a), async (s) => {
        const docker = s.docker();
        const tasks = (await docker.listTasks({ filters: { service: [a.service], "desired-state": ["running"] } })) as {
            NodeID: string;
            Status: { State: string; ContainerStatus?: { ContainerID?: string } };
        }[];
        const task = tasks.find((t) => t.Status.State === "running" && t.Status.ContainerStatus?.ContainerID);
        if (!task) throw new Error(`service ${a.service} has no running task to tunnel to; fix: check \`docker service ps ${a.service}\``);
        const node = (await docker.getNode(task.NodeID).inspect()) as { Description: { Hostname: string } };
        return { node: node.Description.Hostname, container: task.Status.ContainerStatus!.ContainerID! };
    });
    const conn = a.nodeConnections[found.node];
    if (!conn) throw new Error(`service ${a.service} runs on ${found.node}, which is not among the nodes this program connects to (${Object.keys(a.nodeConnections).join(", ")})`);
    const address = await withSession({ ...conn, privateKey: a.privateKey }, async (s) => {
        const bridge = (await s.docker().getNetwork("docker_gwbridge").inspect()) as { Containers?: Record<string, { IPv4Address?: string }> };
        return bridge.Containers?.[found.container]?.IPv4Address?.split("/")[0];
    });
    if (!address) throw new Error(`the task of ${a.service} on ${found.node} has no endpoint on docker_gwbridge (is it on an overlay network?)`);
    return { node: found.node, address };
}

interface PersistentTunnel {
    url: Promise<string>;
    /** The last lookup of the task, and when it was made. */
    found?: { at: number; node: string; address: string };
}

const LOOKUP_TTL_MS = 10_000;

function tunnels(): Map<string, PersistentTunnel> {
    const g = globalThis as unknown as Record<symbol, Map<string, PersistentTunnel> | undefined>;
    const key = Symbol.for("swarm-etl.service-tunnels");
    return (g[key] ??= new Map());
}

/**
 * A local URL base (http://127.0.0.1:<port>) that reaches the service's port for the rest of this
 * process: one listener per (manager, service, port), made on first use. Each connection holds
 * the pooled SSH session to the task's node while it is open.
 */
export function serviceTunnelUrl(a: ServiceTunnelArgs): Promise<string> {
    const key = `${a.connection.user}@${a.connection.host}:${a.connection.port}|${a.service}:${a.port}`;
    const known = tunnels().get(key);
    if (known) return known.url;
    const t: PersistentTunnel = { url: Promise.resolve("") };
    const lookup = async () => {
        if (t.found && Date.now() - t.found.at < LOOKUP_TTL_MS) return t.found;
        const f = await taskAddress(a);
        t.found = { at: Date.now(), ...f };
        return t.found;
    };
    const server = net.createServer((sock) => {
        sock.on("error", () => undefined);
        lookup()
            .then(({ node, address }) =>
                withSession({ ...a.nodeConnections[node], privateKey: a.privateKey }, (s) =>
                    s.openTcp(address, a.port).then(
                        (stream) =>
                            new Promise<void>((resolve) => {
                                stream.on("error", () => sock.destroy());
                                sock.on("error", () => stream.destroy());
                                stream.on("close", () => (sock.destroy(), resolve()));
                                sock.on("close", () => (stream.destroy(), resolve()));
                                sock.pipe(stream).pipe(sock);
                            }),
                    ),
                ),
            )
            .catch(() => {
                t.found = undefined; // look the task up again for the next connection
                sock.destroy();
            });
    });
    server.unref();
    t.url = new Promise<string>((resolve, reject) => {
        server.once("error", reject).listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`));
    });
    tunnels().set(key, t);
    t.url.catch(() => tunnels().delete(key));
    return t.url;
}
