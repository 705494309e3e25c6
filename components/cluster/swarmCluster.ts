// SwarmCluster: a Docker Swarm on hosts reached through an SSH bastion. The first manager
// initializes the swarm; the other managers join one at a time, the workers in parallel.
// Swarm traffic is bound to the private addresses, also on managers that have public ones.
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, NodeRole, SwarmInit, SwarmJoin } from "../../providers/swarm";

/** A host of the cluster. */
export interface ClusterHost {
    /** Host name (Swarm names nodes by hostname); also the suffix of the child resource names. */
    readonly name: string;
    /** Private address: SSH (through the bastion) and all Swarm traffic use it. */
    readonly privateAddress: string;
    /** Public address, managers only (published ports). @default - none */
    readonly publicAddress?: string;
    /** SSH port. @default - 22 */
    readonly port?: number;
    /** Pinned public host key, "<type> <base64>". */
    readonly hostKey: string;
}

export interface BastionHost {
    readonly name: string;
    readonly publicAddress: string;
    /** @default - 22 */
    readonly port?: number;
    /** @default - the cluster's sshUser */
    readonly user?: string;
    readonly hostKey: string;
}

export interface SwarmClusterArgs {
    /** The bastion every SSH connection goes through. */
    readonly bastion: BastionHost;
    /** Managers; the first initializes the swarm. An odd number (1, 3, 5). */
    readonly managers: readonly ClusterHost[];
    /** Workers (private addresses only). @default - none */
    readonly workers?: readonly ClusterHost[];
    /** SSH user on the nodes. */
    readonly sshUser: string;
    /** SSH private key for the bastion and the nodes (kept secret). */
    readonly privateKey: pulumi.Input<string>;
}

export interface ClusterNode {
    name: string;
    role: NodeRole;
    nodeId: string;
    hostname: string;
}

/** The pure part of the component: which node joins how, and over which connection. */
export function planCluster(args: SwarmClusterArgs) {
    if (args.managers.length === 0) throw new Error("SwarmCluster needs at least one manager");
    const bastion = {
        name: args.bastion.name,
        host: args.bastion.publicAddress,
        port: args.bastion.port ?? 22,
        user: args.bastion.user ?? args.sshUser,
        hostKey: args.bastion.hostKey,
    };
    const connectionOf = (h: ClusterHost): HostConnection => ({
        name: h.name,
        host: h.privateAddress,
        port: h.port ?? 22,
        user: args.sshUser,
        hostKey: h.hostKey,
        bastion,
    });
    const bind = (h: ClusterHost) => ({
        advertiseAddr: h.privateAddress,
        listenAddr: `${h.privateAddress}:2377`,
        dataPathAddr: h.privateAddress,
    });
    const [first, ...otherManagers] = args.managers;
    return {
        first: { host: first, connection: connectionOf(first), ...bind(first) },
        /** The first manager, with the others as alternates for when it is down. */
        manager: {
            ...connectionOf(first),
            alternates: otherManagers.map((h) => {
                const { bastion: _omit, ...endpoint } = connectionOf(h);
                return endpoint;
            }),
        } as HostConnection,
        joins: [
            ...otherManagers.map((h) => ({ host: h, role: "manager" as NodeRole, connection: connectionOf(h), ...bind(h) })),
            ...(args.workers ?? []).map((h) => ({ host: h, role: "worker" as NodeRole, connection: connectionOf(h), ...bind(h) })),
        ],
    };
}

export class SwarmCluster extends pulumi.ComponentResource {
    public readonly swarmId: pulumi.Output<string>;
    /** Join tokens (secret). */
    public readonly workerToken: pulumi.Output<string>;
    public readonly managerToken: pulumi.Output<string>;
    /** Every node with its role and Swarm node ID. */
    public readonly nodes: pulumi.Output<ClusterNode[]>;
    /** How stacks reach a manager of this swarm (through the bastion; the other managers as alternates). */
    public readonly managerConnection: HostConnection;
    /** The init resource and the joins, for `dependsOn` of stacks. */
    public readonly members: pulumi.Resource[];

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:cluster:SwarmCluster", name, {}, opts);
        const plan = planCluster(args);
        const privateKey = pulumi.secret(args.privateKey);

        const init = new SwarmInit(
            `${name}-${plan.first.host.name}`,
            {
                connection: plan.first.connection,
                privateKey,
                advertiseAddr: plan.first.advertiseAddr,
                listenAddr: plan.first.listenAddr,
                dataPathAddr: plan.first.dataPathAddr,
            },
            { parent: this },
        );

        let previousManager: pulumi.Resource = init;
        const joins = plan.joins.map((j) => {
            const join = new SwarmJoin(
                `${name}-${j.host.name}`,
                {
                    connection: j.connection,
                    privateKey,
                    role: j.role,
                    swarmId: init.swarmId,
                    joinToken: j.role === "manager" ? init.managerToken : init.workerToken,
                    remoteAddrs: [init.joinAddr],
                    advertiseAddr: j.advertiseAddr,
                    listenAddr: j.listenAddr,
                    dataPathAddr: j.dataPathAddr,
                    manager: plan.manager,
                },
                // Managers join one at a time (each waits for the previous one to be reachable).
                { parent: this, dependsOn: j.role === "manager" ? [previousManager] : [init] },
            );
            if (j.role === "manager") previousManager = join;
            return { join, role: j.role, name: j.host.name };
        });

        this.swarmId = init.swarmId;
        this.workerToken = pulumi.secret(init.workerToken);
        this.managerToken = pulumi.secret(init.managerToken);
        this.managerConnection = plan.manager;
        this.members = [init, ...joins.map((j) => j.join)];
        this.nodes = pulumi.all([
            pulumi.all([init.nodeId]).apply(([nodeId]) => ({ name: plan.first.host.name, role: "manager" as NodeRole, nodeId, hostname: plan.first.host.name })),
            ...joins.map((j) =>
                pulumi.all([j.join.nodeId, j.join.hostname, j.join.role]).apply(([nodeId, hostname, role]) => ({ name: j.name, role, nodeId, hostname })),
            ),
        ]);
        this.registerOutputs({
            swarmId: this.swarmId,
            workerToken: this.workerToken,
            managerToken: this.managerToken,
            nodes: this.nodes,
        });
    }
}
