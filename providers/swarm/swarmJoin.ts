// swarm:SwarmJoin — one node's membership of the swarm (a manager after the first, or a worker).
// Idempotent: a node already in this swarm is adopted, never re-joined. read() reports a node
// that left, or whose role was changed by hand. delete() demotes a manager, makes the node leave
// and removes it from the node list, so the host is clean.
import * as pulumi from "@pulumi/pulumi";
import { SshSession, withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, PROVIDER_VERSION, statusCode, toTarget, waitFor , knownProps, plain } from "./common";

export type NodeRole = "manager" | "worker";

export interface SwarmJoinInputs extends ConnectionInputs {
    role: NodeRole;
    swarmId: string;
    /** The join token for `role` (secret; a rotated token does not re-join the node). */
    joinToken: string;
    /** Managers to join through (host:port). */
    remoteAddrs: string[];
    advertiseAddr: string;
    listenAddr: string;
    dataPathAddr: string;
    /** A manager of the swarm, for node operations (inspect, promote/demote, remove). */
    manager: HostConnection;
    /** How long to wait for the node to be Ready. @default - 120 */
    readyTimeoutSeconds?: number;
    providerVersion: string;
}

export interface SwarmJoinOutputs extends SwarmJoinInputs {
    nodeId: string;
    hostname: string;
}

const REPLACE_KEYS: (keyof SwarmJoinInputs)[] = ["swarmId", "advertiseAddr", "listenAddr", "dataPathAddr"];
const UPDATE_KEYS: (keyof SwarmJoinInputs)[] = ["role", "connection", "manager", "remoteAddrs", "providerVersion"];

const managerTarget = (p: SwarmJoinInputs) => ({ ...p.manager, privateKey: p.privateKey });

interface LiveNode {
    nodeId: string;
    hostname: string;
    role: NodeRole;
}

/** The node as the swarm's manager sees it, or undefined when the node is not in the swarm. */
async function inspectNode(p: SwarmJoinInputs): Promise<LiveNode | undefined> {
    const local = await withSession(toTarget(p), async (s) => (await s.docker().info()).Swarm);
    if (!local || local.LocalNodeState !== "active" || !local.NodeID) return undefined;
    return withSession(managerTarget(p), async (m) => {
        try {
            const node = await m.docker().getNode(local.NodeID).inspect();
            return { nodeId: node.ID, hostname: node.Description?.Hostname ?? "", role: node.Spec?.Role as NodeRole };
        } catch (err) {
            if (statusCode(err) === 404) return undefined; // in another swarm
            throw err;
        }
    });
}

async function setRole(m: SshSession, nodeId: string, role: NodeRole): Promise<void> {
    const node = m.docker().getNode(nodeId);
    const live = await node.inspect();
    if (live.Spec.Role === role) return;
    await node.update({ _query: { version: live.Version.Index }, _body: { ...live.Spec, Role: role } });
}

async function waitReady(p: SwarmJoinInputs, nodeId: string): Promise<void> {
    await withSession(managerTarget(p), (m) =>
        waitFor(`node ${p.connection.name} to be Ready`, (p.readyTimeoutSeconds ?? 120) * 1000, async () => {
            const n = await m.docker().getNode(nodeId).inspect();
            if (n.Status?.State !== "ready") return `state ${n.Status?.State}: ${n.Status?.Message ?? ""}`;
            if (n.Spec?.Role === "manager" && n.ManagerStatus?.Reachability !== "reachable") return `manager reachability ${n.ManagerStatus?.Reachability}`;
            return true;
        }),
    );
}

/** A host that left and rejoined leaves its old entry behind as "down": remove it. */
async function removeStaleEntries(p: SwarmJoinInputs, live: LiveNode): Promise<void> {
    await withSession(managerTarget(p), async (m) => {
        const docker = m.docker();
        const stale = (await docker.listNodes()).filter(
            (n) => n.Description?.Hostname === live.hostname && n.ID !== live.nodeId && n.Status?.State === "down",
        );
        for (const n of stale) await docker.getNode(n.ID!).remove({ force: true });
    });
}

async function join(p: SwarmJoinInputs): Promise<SwarmJoinOutputs> {
    const existing = await inspectNode(p);
    if (!existing) {
        await withSession(toTarget(p), async (s) => {
            const docker = s.docker();
            const info = await docker.info();
            if (info.Swarm?.LocalNodeState === "active") {
                throw new Error(
                    `${p.connection.name} is already in another swarm (node ${info.Swarm.NodeID}). ` +
                        `Fix: run \`docker swarm leave --force\` on it if that swarm is not needed, then run pulumi up again.`,
                );
            }
            try {
                await docker.swarmJoin({
                    ListenAddr: p.listenAddr,
                    AdvertiseAddr: p.advertiseAddr,
                    DataPathAddr: p.dataPathAddr,
                    RemoteAddrs: p.remoteAddrs,
                    JoinToken: p.joinToken,
                });
            } catch (err) {
                throw new Error(`docker swarm join of ${p.connection.name} as ${p.role} failed: ${daemonMessage(err)}`);
            }
        });
    }
    const live = await inspectNode(p);
    if (!live) throw new Error(`${p.connection.name} is not a member of swarm ${p.swarmId} after joining`);
    if (live.role !== p.role) await withSession(managerTarget(p), (m) => setRole(m, live.nodeId, p.role));
    await waitReady(p, live.nodeId);
    await removeStaleEntries(p, live);
    return { ...p, nodeId: live.nodeId, hostname: live.hostname };
}

const provider: pulumi.dynamic.ResourceProvider<SwarmJoinInputs, SwarmJoinOutputs> = {
    async create(inputs) {
        const outs = await join(inputs);
        return { id: outs.nodeId, outs: plain(outs) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:SwarmJoin");
        const live = await inspectNode(props);
        if (!live || live.nodeId !== id) return { id: "", props: {} as SwarmJoinOutputs };
        return { id, props: plain({ ...props, role: live.role, hostname: live.hostname }) };
    },

    async diff(_id, olds, news) {
        const replaces = changedKeys(olds, news, REPLACE_KEYS);
        const updates = changedKeys(olds, news, UPDATE_KEYS);
        return { changes: replaces.length + updates.length > 0, replaces: replaces as string[], deleteBeforeReplace: true };
    },

    async update(id, olds, news) {
        if (olds.role !== news.role) {
            await withSession(managerTarget(news), (m) => setRole(m, id, news.role));
            await waitReady(news, id);
        }
        return { outs: plain({ ...news, nodeId: id, hostname: olds.hostname }) };
    },

    async delete(id, props) {
        // 1. Demote a manager first, so leaving cannot cost the swarm its quorum.
        let managerReachable = true;
        try {
            await withSession(managerTarget(props), async (m) => {
                try {
                    await setRole(m, id, "worker");
                } catch (err) {
                    if (statusCode(err) !== 404) throw err;
                }
            });
        } catch (err) {
            managerReachable = false;
            pulumi.log.warn(`could not demote ${props.connection.name} through ${props.manager.name}: ${daemonMessage(err)}`);
        }
        // 2. Leave (waiting until the demotion reached the node).
        await withSession(toTarget(props), async (s) => {
            const docker = s.docker();
            await waitFor(`${props.connection.name} to leave the swarm`, 60_000, async () => {
                const info = await docker.info();
                if (info.Swarm?.LocalNodeState === "inactive") return true;
                try {
                    await docker.swarmLeave({ force: !managerReachable });
                    return true;
                } catch (err) {
                    return daemonMessage(err);
                }
            });
        });
        // 3. Remove the node from the node list.
        if (managerReachable) {
            await withSession(managerTarget(props), async (m) => {
                try {
                    await m.docker().getNode(id).remove({ force: true });
                } catch (err) {
                    if (statusCode(err) !== 404) throw new Error(`removing node ${props.connection.name} from the swarm failed: ${daemonMessage(err)}`);
                }
            });
        }
    },
};

export interface SwarmJoinArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    role: pulumi.Input<NodeRole>;
    swarmId: pulumi.Input<string>;
    joinToken: pulumi.Input<string>;
    remoteAddrs: pulumi.Input<pulumi.Input<string>[]>;
    advertiseAddr: pulumi.Input<string>;
    listenAddr: pulumi.Input<string>;
    dataPathAddr: pulumi.Input<string>;
    manager: pulumi.Input<HostConnection>;
    readyTimeoutSeconds?: pulumi.Input<number>;
}

/** One node's membership of the swarm. */
export class SwarmJoin extends pulumi.dynamic.Resource {
    declare public readonly nodeId: pulumi.Output<string>;
    declare public readonly hostname: pulumi.Output<string>;
    declare public readonly role: pulumi.Output<NodeRole>;

    constructor(name: string, args: SwarmJoinArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, providerVersion: PROVIDER_VERSION, nodeId: undefined, hostname: undefined };
        const secretOpts = { additionalSecretOutputs: ["privateKey", "joinToken"] };
        super(provider, name, props, pulumi.mergeOptions(opts, secretOpts), "swarm", "SwarmJoin");
    }
}
