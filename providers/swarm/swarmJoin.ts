// swarm:SwarmJoin — one node's membership of the swarm (a manager after the first, or a worker).
// Idempotent: a node already in this swarm is adopted, never re-joined. read() reports a node
// that left, whose daemon died, or whose role was changed by hand. delete() retires the node:
// quorum guard, drain (its tasks move), demote, leave, removal from the node list.
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { SshSession, withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, knownProps, plain, PROVIDER_VERSION, statusCode, toTarget, waitFor } from "./common";
import { roleChangeProblem } from "./nodeSpecPlan";
import { nodeViews, retireNode, updateSpec } from "./retire";

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
    /** Ready, its hostname reported, and reachable if a manager: nothing to wait for. */
    settled: boolean;
}

/** The node as the swarm's manager sees it, or undefined when the node is not in the swarm. */
async function inspectNode(p: SwarmJoinInputs): Promise<LiveNode | undefined> {
    const local = await withSession(toTarget(p), async (s) => {
        try {
            return (await s.docker().info()).Swarm;
        } catch (err) {
            throw new Error(
                `the Docker daemon of ${p.connection.name} does not answer (${daemonMessage(err)}); ` +
                    `fix: start it (\`systemctl start docker\` on the host), or remove ${p.connection.name} from the stack's config to retire it`,
            );
        }
    });
    if (local?.LocalNodeState === "locked") throw lockedError(p.connection.name);
    if (!local || local.LocalNodeState !== "active" || !local.NodeID) return undefined;
    return withSession(managerTarget(p), async (m) => {
        try {
            const node = await m.docker().getNode(local.NodeID).inspect();
            // A node that just joined may not have sent its description (its hostname) yet.
            const settled = node.Status?.State === "ready" && !!node.Description?.Hostname && (node.Spec?.Role !== "manager" || node.ManagerStatus?.Reachability === "reachable");
            return { nodeId: node.ID, hostname: node.Description?.Hostname ?? "", role: node.Spec?.Role as NodeRole, settled };
        } catch (err) {
            if (statusCode(err) === 404) return undefined; // in another swarm
            throw err;
        }
    });
}

/** A manager of an autolocked swarm that restarted waits for its unlock key. */
export function lockedError(name: string): Error {
    return new Error(
        `${name} is locked: the swarm has autolock on and its Docker daemon restarted. ` +
            `Fix: unlock it with the stack's unlock key — \`pulumi stack output unlockKey --show-secrets | ssh <${name}> docker swarm unlock\` ` +
            `(runbook "A locked manager" in README.md) — then run pulumi again.`,
    );
}

async function setRole(m: SshSession, nodeId: string, role: NodeRole): Promise<void> {
    const live = await m.docker().getNode(nodeId).inspect();
    if (live.Spec.Role !== role) await updateSpec(m.docker(), nodeId, { Role: role });
}

/** Waits until the node is Ready, has reported its hostname and, a manager, is reachable; returns the hostname. */
async function waitReady(p: SwarmJoinInputs, nodeId: string): Promise<string> {
    let hostname = "";
    await withSession(managerTarget(p), (m) =>
        waitFor(`node ${p.connection.name} to be Ready`, (p.readyTimeoutSeconds ?? 120) * 1000, async () => {
            const n = await m.docker().getNode(nodeId).inspect();
            if (n.Status?.State !== "ready") return `state ${n.Status?.State}: ${n.Status?.Message ?? ""}`;
            if (n.Spec?.Role === "manager" && n.ManagerStatus?.Reachability !== "reachable") return `manager reachability ${n.ManagerStatus?.Reachability}`;
            hostname = n.Description?.Hostname ?? "";
            return hostname ? true : "no hostname reported yet";
        }, 250),
    );
    return hostname;
}

/**
 * A host that left and rejoined leaves its old entry behind. The managers mark it "down" only
 * after its heartbeat expires (seconds after the leave), so wait for that, then remove it
 * (demoting it first if it was a manager). Entries are matched by hostname and address.
 */
async function removeStaleEntries(p: SwarmJoinInputs, live: LiveNode): Promise<void> {
    await withSession(managerTarget(p), async (m) => {
        const docker = m.docker();
        const stale = async () =>
            (await docker.listNodes()).filter(
                (n) => n.Description?.Hostname === live.hostname && n.ID !== live.nodeId && n.Status?.Addr === p.advertiseAddr,
            );
        await waitFor(`the old swarm entry of ${p.connection.name} to go down`, (p.readyTimeoutSeconds ?? 120) * 1000, async () => {
            const up = (await stale()).filter((n) => n.Status?.State !== "down");
            return up.length === 0 ? true : `${up.map((n) => n.ID).join(", ")} still ${up[0].Status?.State}`;
        });
        for (const n of await stale()) {
            if (n.Spec?.Role === "manager") await setRole(m, n.ID!, "worker");
            try {
                await docker.getNode(n.ID!).remove({ force: true });
            } catch (err) {
                if (statusCode(err) !== 404) throw new Error(`removing the old entry ${n.ID} of ${p.connection.name} failed: ${daemonMessage(err)}`);
            }
        }
    });
}

/**
 * `docker swarm join` on the node. The daemon gives up waiting after 20 s but keeps joining
 * ("will continue in the background"): then this waits for the node to become active instead of
 * failing a join that succeeds (Ansible's docker_swarm fails there).
 */
export async function joinOrWait(docker: Pick<Docker, "swarmJoin" | "info">, p: SwarmJoinInputs, pollMs = 500): Promise<void> {
    const failed = (why: string) => new Error(`docker swarm join of ${p.connection.name} as ${p.role} failed: ${why}`);
    try {
        await docker.swarmJoin({
            ListenAddr: p.listenAddr,
            AdvertiseAddr: p.advertiseAddr,
            DataPathAddr: p.dataPathAddr,
            RemoteAddrs: p.remoteAddrs,
            JoinToken: p.joinToken,
        });
        return;
    } catch (err) {
        if (!/continue in the background/i.test(daemonMessage(err))) throw failed(daemonMessage(err));
    }
    pulumi.log.info(`${p.connection.name}: the join is slow and continues in the background; waiting for it`);
    await waitFor(`${p.connection.name} to finish joining`, (p.readyTimeoutSeconds ?? 120) * 1000, async () => {
        const state = (await docker.info()).Swarm?.LocalNodeState as string | undefined;
        if (state === "active") return true;
        if (state === "error" || state === "inactive") throw failed(`the node is ${state} after joining in the background`);
        return `state ${state}`;
    }, pollMs);
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
            await joinOrWait(docker, p);
        });
    }
    const live = await inspectNode(p);
    if (!live) throw new Error(`${p.connection.name} is not a member of swarm ${p.swarmId} after joining`);
    if (live.role !== p.role) await withSession(managerTarget(p), (m) => setRole(m, live.nodeId, p.role));
    const hostname = live.role !== p.role || !live.settled ? await waitReady(p, live.nodeId) : live.hostname;
    await removeStaleEntries(p, { ...live, hostname });
    return { ...p, nodeId: live.nodeId, hostname };
}

const provider: pulumi.dynamic.ResourceProvider<SwarmJoinInputs, SwarmJoinOutputs> = {
    async create(inputs) {
        const outs = await join(inputs);
        return { id: outs.nodeId, outs: plain(outs) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:SwarmJoin");
        let live: LiveNode | undefined;
        try {
            live = await inspectNode(props);
        } catch (err) {
            // A node whose daemon died (or whose host is unreachable) is not a working member:
            // refresh drops it, and `pulumi up` rejoins it once it answers again.
            if (/ is locked: /.test((err as Error).message)) throw err;
            // Only when the managers confirm it: an operator who lost the network must not see
            // the whole cluster dropped from the state.
            const state = await withSession(managerTarget(props), async (m) => {
                try {
                    return (await m.docker().getNode(id).inspect()).Status?.State as string | undefined;
                } catch (e) {
                    if (statusCode(e) === 404) return "gone";
                    throw e;
                }
            });
            if (state !== "down" && state !== "gone") throw err;
            pulumi.log.warn(`${props.connection.name} is not a working member of the swarm (${state}): ${(err as Error).message}`);
            return { id: "", props: {} as SwarmJoinOutputs };
        }
        if (!live || live.nodeId !== id) return { id: "", props: {} as SwarmJoinOutputs };
        return { id, props: plain({ ...props, role: live.role, hostname: live.hostname }) };
    },

    async diff(_id, olds, news) {
        const replaces = changedKeys(olds, news, REPLACE_KEYS);
        const updates = changedKeys(olds, news, UPDATE_KEYS);
        return { changes: replaces.length + updates.length > 0, replaces: replaces as string[], deleteBeforeReplace: true };
    },

    async update(id, olds, news) {
        let hostname = olds.hostname;
        if (olds.role !== news.role) {
            await withSession(managerTarget(news), async (m) => {
                const problem = roleChangeProblem(await nodeViews(m.docker()), id, news.role);
                if (problem) throw new Error(problem);
                await setRole(m, id, news.role);
            });
            hostname = await waitReady(news, id);
        }
        return { outs: plain({ ...news, nodeId: id, hostname }) };
    },

    async delete(id, props) {
        await retireNode({ node: toTarget(props), nodeId: id, managers: managerTarget(props) });
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
