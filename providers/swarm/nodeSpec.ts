// swarm:NodeSpec — the spec (labels, availability, role) of a node that is already in the swarm,
// named by hostname or node ID. create adopts the node and remembers what it changes, so delete()
// leaves the node as it found it. read() returns the managed part of the live spec, so a label
// or a drain made by hand shows in `pulumi preview --refresh`. Role changes go through a quorum
// guard: never the last manager, never the manager we connect through, never below a majority.
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { withSession } from "../ssh/connection";
import { canonical, ConnectionInputs, daemonMessage, HostConnection, knownProps, plain, PROVIDER_VERSION, sleep, isRaftTransient, statusCode, toTarget, waitFor } from "./common";
import type { NodeRole } from "./swarmJoin";
import {
    AVAILABILITIES,
    DockerNodeSpec,
    findNode,
    NodeAvailability,
    nodeSpecDiff,
    nodeSpecFields,
    NodeSpecFields,
    nodeSpecFromLive,
    NodeView,
    noSuchNode,
    OriginalSpec,
    planNodeSpec,
    roleChangeProblem,
    ROLES,
} from "./nodeSpecPlan";

export interface NodeSpecInputs extends ConnectionInputs, NodeSpecFields {
    /** Hostname or node ID of the node. */
    node: string;
    providerVersion: string;
}

export interface NodeSpecOutputs extends NodeSpecInputs {
    nodeId: string;
    hostname: string;
    /** The node as it was before this resource changed it; delete() restores it. */
    original: OriginalSpec;
}

interface LiveNode {
    ID: string;
    Version: { Index: number };
    Spec: DockerNodeSpec;
    Description?: { Hostname?: string };
    Status?: { State?: string };
    ManagerStatus?: { Reachability?: string };
}

async function listNodeViews(docker: Docker): Promise<NodeView[]> {
    const nodes = (await docker.listNodes()) as unknown as LiveNode[];
    return nodes.map((n) => ({
        id: n.ID,
        hostname: n.Description?.Hostname ?? "",
        role: n.Spec.Role,
        state: n.Status?.State ?? "unknown",
        reachability: n.ManagerStatus?.Reachability,
    }));
}

const isOutOfSequence = (err: unknown) => /out of sequence/i.test(daemonMessage(err));

/**
 * Reads the node, plans its new spec and sends it with the version it was read at; another
 * writer in between ("update out of sequence") makes it read and plan again.
 */
async function applySpec(
    docker: Docker,
    connection: HostConnection,
    nodeId: string,
    what: string,
    plan: (live: DockerNodeSpec) => { spec: DockerNodeSpec; original: OriginalSpec },
): Promise<{ hostname: string; original: OriginalSpec }> {
    for (let attempt = 1; ; attempt++) {
        const node = docker.getNode(nodeId);
        const live = (await node.inspect()) as LiveNode;
        const planned = plan(live.Spec);
        const hostname = live.Description?.Hostname ?? nodeId;
        if (JSON.stringify(canonical(planned.spec)) === JSON.stringify(canonical(live.Spec))) return { hostname, original: planned.original };
        if (planned.spec.Role !== live.Spec.Role) {
            const via = (await docker.info()).Swarm?.NodeID as string | undefined;
            const connectionHosts = [connection.name, ...(connection.alternates ?? []).map((a) => a.name)];
            const problem = roleChangeProblem(await listNodeViews(docker), nodeId, planned.spec.Role, via, connectionHosts);
            if (problem) throw new Error(`${what}: ${problem}`);
        }
        try {
            await node.update({ _query: { version: live.Version.Index }, _body: planned.spec });
        } catch (err) {
            if (isOutOfSequence(err) && attempt < 5) {
                await sleep(200 * attempt);
                continue;
            }
            // A manager was just lost and Raft is electing: read again (the write may have landed) and retry, for up to a minute.
            if (isRaftTransient(err) && attempt < 12) {
                await sleep(5000);
                continue;
            }
            throw new Error(`${what}: updating node ${hostname} (${nodeId}) failed: ${daemonMessage(err)}`);
        }
        if (planned.spec.Role !== live.Spec.Role) await waitRole(docker, nodeId, hostname, planned.spec.Role);
        return { hostname, original: planned.original };
    }
}

/** After a role change: a new manager is reachable, a demoted one has left the managers. */
async function waitRole(docker: Docker, nodeId: string, hostname: string, role: NodeRole): Promise<void> {
    await waitFor(`${hostname} to become a ${role}`, 120_000, async () => {
        const n = (await docker.getNode(nodeId).inspect()) as LiveNode;
        const reach = n.ManagerStatus?.Reachability;
        if (role === "manager") return reach === "reachable" ? true : `manager reachability ${reach ?? "none yet"}`;
        return reach === undefined ? true : `still listed as a manager (${reach})`;
    });
}

const provider: pulumi.dynamic.ResourceProvider<NodeSpecInputs, NodeSpecOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (typeof news.node !== "string" || news.node.trim() === "") {
            failures.push({ property: "node", reason: `node must be the hostname or ID of a swarm node, got ${JSON.stringify(news.node)}` });
        }
        if (news.availability !== undefined && !AVAILABILITIES.includes(news.availability)) {
            failures.push({ property: "availability", reason: `availability must be one of ${AVAILABILITIES.join(", ")}, got "${news.availability}"` });
        }
        if (news.role !== undefined && !ROLES.includes(news.role)) {
            failures.push({ property: "role", reason: `role must be "manager" or "worker", got "${news.role}"` });
        }
        for (const [k, v] of Object.entries(news.labels ?? {})) {
            if (k === "" || typeof v !== "string") failures.push({ property: "labels", reason: `label ${JSON.stringify(k)} must have a non-empty key and a string value, got ${JSON.stringify(v)}` });
        }
        for (const p of news.labelPrefixes ?? []) {
            if (typeof p !== "string") failures.push({ property: "labelPrefixes", reason: `label prefixes must be strings, got ${JSON.stringify(p)}` });
        }
        return { inputs: news, failures };
    },

    async create(inputs) {
        const outs = await withSession(toTarget(inputs), async (s) => {
            const docker = s.docker();
            const nodes = await listNodeViews(docker);
            const node = findNode(nodes, inputs.node);
            if (!node) throw noSuchNode(inputs.node, nodes);
            const applied = await applySpec(docker, inputs.connection, node.id, `adopting node ${inputs.node}`, (live) => planNodeSpec(live, nodeSpecFields(inputs)));
            return { ...inputs, nodeId: node.id, hostname: applied.hostname, original: applied.original };
        });
        return { id: outs.nodeId, outs: plain(outs) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:NodeSpec");
        return withSession(toTarget(props), async (s) => {
            const docker = s.docker();
            const node = findNode(await listNodeViews(docker), props.node);
            if (!node) return { id: "", props: {} as NodeSpecOutputs }; // the node left the swarm
            const live = (await docker.getNode(node.id).inspect()) as LiveNode;
            const outs: NodeSpecOutputs = { ...props, nodeId: node.id, hostname: node.hostname };
            for (const k of ["labels", "availability", "role"] as const) delete outs[k];
            // A node that rejoined has another ID: diff() replaces the resource.
            return { id, props: plain({ ...outs, ...nodeSpecFromLive(live.Spec, props) }) };
        });
    },

    async diff(id, olds, news) {
        return nodeSpecDiff(id, olds, news);
    },

    async update(id, olds, news) {
        const applied = await withSession(toTarget(news), (s) =>
            applySpec(s.docker(), news.connection, id, `updating the spec of node ${news.node}`, (live) =>
                planNodeSpec(live, nodeSpecFields(news), { fields: nodeSpecFields(olds), original: olds.original }),
            ),
        );
        return { outs: plain({ ...news, nodeId: id, hostname: applied.hostname, original: applied.original }) };
    },

    async delete(id, props) {
        await withSession(toTarget(props), async (s) => {
            try {
                await applySpec(s.docker(), props.connection, id, `restoring the spec of node ${props.node}`, (live) =>
                    planNodeSpec(live, {}, { fields: nodeSpecFields(props), original: props.original }),
                );
            } catch (err) {
                if (statusCode(err) === 404) return; // the node is gone from the swarm: nothing to restore
                throw err;
            }
        });
    },
};

export interface NodeSpecArgs {
    /** A manager of the swarm (node updates go through it). */
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    /** Hostname or node ID of a node already in the swarm. A node that rejoins (new ID) replaces the resource. */
    node: pulumi.Input<string>;
    /** Labels to set. @default - none set */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Label key prefixes this resource owns (e.g. `["etl."]`): any label under them that `labels`
     * does not list is drift and is removed. `[""]` owns every label of the node.
     * @default - none: only the keys in `labels` are managed, other labels are left alone
     */
    labelPrefixes?: pulumi.Input<pulumi.Input<string>[]>;
    /** @default - left as it is */
    availability?: pulumi.Input<NodeAvailability>;
    /** Promote or demote the node; refused when it would cost the swarm its last manager or its quorum. @default - left as it is */
    role?: pulumi.Input<NodeRole>;
}

/** The managed part of an existing node's spec. Two NodeSpecs must not manage the same labels of one node. */
export class NodeSpec extends pulumi.dynamic.Resource {
    declare public readonly nodeId: pulumi.Output<string>;
    declare public readonly hostname: pulumi.Output<string>;
    declare public readonly original: pulumi.Output<OriginalSpec>;

    constructor(name: string, args: NodeSpecArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, providerVersion: PROVIDER_VERSION, nodeId: undefined, hostname: undefined, original: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "NodeSpec");
    }
}
