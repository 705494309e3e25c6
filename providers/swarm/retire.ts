// Taking a node out of the swarm the way an operator would: refuse when it would cost the
// managers their quorum, drain it (its tasks move to other nodes), demote it if it is a manager,
// make it leave, and remove it from the node list. A node that does not answer is removed by the
// managers alone. Used by SwarmJoin.delete (scale in, replace, destroy).
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { SshSession, SshTarget, withSession } from "../ssh/connection";
import { daemonMessage, statusCode, waitFor } from "./common";
import { NodeView, roleChangeProblem } from "./nodeSpecPlan";

export interface RetireRequest {
    /** The node's own host. */
    node: SshTarget;
    nodeId: string;
    /** Managers of the swarm (primary and alternates); the node itself is skipped among them. */
    managers: SshTarget;
    /** How long to wait for the node's tasks to move. @default - 120 s */
    drainTimeoutMs?: number;
}

/** The managers other than `node`, as one target with failover (undefined when there is none). */
export function otherManagers(managers: SshTarget, node: SshTarget): SshTarget | undefined {
    const all = [{ ...managers, alternates: undefined }, ...(managers.alternates ?? []).map((a) => ({ ...managers, ...a, alternates: undefined }))];
    const others = all.filter((m) => m.host !== node.host || m.port !== node.port);
    if (others.length === 0) return undefined;
    const [first, ...rest] = others;
    return { ...first, alternates: rest.map(({ name, host, port, user, hostKey }) => ({ name, host, port, user, hostKey })) };
}

export async function nodeViews(docker: Docker): Promise<NodeView[]> {
    const nodes = await docker.listNodes();
    return nodes.map((n) => ({
        id: n.ID!,
        hostname: n.Description?.Hostname ?? "",
        role: n.Spec?.Role as NodeView["role"],
        state: n.Status?.State ?? "unknown",
        reachability: n.ManagerStatus?.Reachability,
    }));
}

/** Changes a node's spec at the version it was read at; a concurrent writer makes it read again. */
export async function updateSpec(docker: Docker, nodeId: string, change: Record<string, unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
        const node = docker.getNode(nodeId);
        const live = await node.inspect();
        try {
            await node.update({ _query: { version: live.Version.Index }, _body: { ...live.Spec, ...change } });
            return;
        } catch (err) {
            if (attempt < 5 && /out of sequence/i.test(daemonMessage(err))) continue;
            throw err;
        }
    }
}

async function leave(node: SshTarget, force: boolean): Promise<boolean> {
    try {
        await withSession({ ...node, alternates: undefined }, async (s: SshSession) => {
            const docker = s.docker();
            await waitFor(`${node.name} to leave the swarm`, 60_000, async () => {
                const info = await docker.info();
                if (info.Swarm?.LocalNodeState === "inactive") return true;
                try {
                    await docker.swarmLeave({ force });
                    return true;
                } catch (err) {
                    return daemonMessage(err);
                }
            });
            // A task container that stopped just before the leave can outlive it: nothing removes it
            // once the node is out of the swarm, so the host is left clean here.
            const leftovers = await docker.listContainers({ all: true, filters: { label: ["com.docker.swarm.task.id"] } });
            for (const c of leftovers) {
                await docker
                    .getContainer(c.Id)
                    .remove({ force: true })
                    .catch((err) => {
                        if (statusCode(err) !== 404 && statusCode(err) !== 409) {
                            pulumi.log.warn(`${node.name} left the swarm, but its task container ${c.Names?.[0] ?? c.Id} could not be removed: ${daemonMessage(err)}`);
                        }
                    });
            }
        });
        return true;
    } catch (err) {
        pulumi.log.warn(`${node.name} could not leave the swarm itself (${daemonMessage(err)}); the managers remove it from the node list`);
        return false;
    }
}

/** Drain, demote, leave, remove — or refuse, before changing anything, when the quorum is at stake. */
export async function retireNode(req: RetireRequest): Promise<void> {
    const via = otherManagers(req.managers, req.node);
    if (!via) {
        // The node is the only manager we know of: this is the swarm going away (destroy).
        await leave(req.node, true);
        return;
    }
    let views: NodeView[];
    try {
        views = await withSession(via, (m) => nodeViews(m.docker()));
    } catch (err) {
        // The managers have left already (the swarm is being torn down): only the node is left to go.
        if (statusCode(err) === 503 && /not a swarm manager/i.test(daemonMessage(err))) {
            await leave(req.node, true);
            return;
        }
        throw new Error(`cannot retire ${req.node.name}: the managers do not answer (${daemonMessage(err)}); fix: bring a manager back, then run pulumi again`);
    }
    await withSession(via, async (m) => {
        const docker = m.docker();
        const self = views.find((n) => n.id === req.nodeId);
        if (!self) {
            await leave(req.node, true); // already gone from the node list
            return;
        }
        const managers = views.filter((n) => n.role === "manager");
        if (self.role === "manager" && managers.length === 1) {
            await leave(req.node, true); // the last manager: the swarm ends with it
            return;
        }
        if (self.role === "manager") {
            const problem = roleChangeProblem(views, req.nodeId, "worker");
            if (problem) throw new Error(problem.replace("refusing to demote", `refusing to remove`));
        }

        // 1. Drain: Swarm moves the node's tasks to other nodes.
        await updateSpec(docker, req.nodeId, { Availability: "drain" });
        const timeoutMs = req.drainTimeoutMs ?? 120_000;
        try {
            await waitFor(`the tasks of ${req.node.name} to move`, timeoutMs, async () => {
                const tasks = await docker.listTasks({ filters: { node: [req.nodeId], "desired-state": ["running"] } });
                const running = tasks.filter((t) => t.Status?.State === "running" || t.Status?.State === "starting");
                return running.length === 0 ? true : `${running.length} task(s) still running`;
            });
        } catch (err) {
            pulumi.log.warn(`${(err as Error).message}; removing ${req.node.name} anyway`);
        }

        // 2. Demote a manager, so that leaving cannot cost the swarm its quorum.
        if (self.role === "manager") {
            await updateSpec(docker, req.nodeId, { Role: "worker" });
            await waitFor(`${req.node.name} to be demoted`, 60_000, async () => {
                const n = await docker.getNode(req.nodeId).inspect();
                return n.ManagerStatus ? `still a manager (${n.ManagerStatus.Reachability})` : true;
            });
        }

        // 3. Leave (a node that does not answer cannot), 4. remove it from the node list.
        // The managers mark a node that left "down" only when its heartbeat expires (~15 s or more);
        // --force removes the entry of a node that has left (or cannot answer) without that wait.
        await leave(req.node, !self || self.state !== "ready");
        try {
            await docker.getNode(req.nodeId).remove({ force: true });
        } catch (err) {
            if (statusCode(err) !== 404) throw new Error(`removing ${req.node.name} from the swarm's node list failed: ${daemonMessage(err)}`);
        }
    });
}
