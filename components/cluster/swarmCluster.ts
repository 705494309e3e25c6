// SwarmCluster: a Docker Swarm on hosts reached through an SSH bastion, over its whole life.
// Every host is checked first (Docker version, Swarm ports); the first manager initializes the
// swarm; every host then has a membership (managers join one at a time, workers in parallel)
// and a node spec (labels, availability) from config. A host removed from config is retired
// (quorum guard, drain, demote, leave, removal). Swarm traffic is bound to the private
// addresses, also on managers that have public ones.
import * as pulumi from "@pulumi/pulumi";
import { HostCheck, HostConnection, NodeAvailability, NodeRole, NodeSpec, PortProbe, SwarmInit, SwarmJoin } from "../../providers/swarm";
import { AccessHost, ansibleInventory, knownHosts, sshConfig } from "./access";

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
    /** SSH user on this host. @default - the cluster's sshUser */
    readonly user?: string;
    /** Pinned public host key, "<type> <base64>". */
    readonly hostKey: string;
    /** Swarm node labels. @default - none */
    readonly labels?: Record<string, string>;
    /** @default - active */
    readonly availability?: NodeAvailability;
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

export interface HostCheckOptions {
    /** @default - "20.10" */
    readonly minDockerVersion?: string;
    /** @default - false */
    readonly installDocker?: boolean;
    /** Probe the Swarm TCP ports between nodes. @default - true */
    readonly ports?: boolean;
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
    /** Lock the managers' Raft keys at rest; the unlock key is the `unlockKey` output. @default - false */
    readonly autolock?: boolean;
    /** Increase to rotate both join tokens. @default - 0 */
    readonly joinTokenRotation?: number;
    readonly hostCheck?: HostCheckOptions;
    /** Where the access outputs expect the operator's key and known_hosts files. */
    readonly access?: { identityFile: string; knownHostsFile: string };
}

export interface ClusterNode {
    name: string;
    role: NodeRole;
    nodeId: string;
    hostname: string;
}

const SWARM_PORT = 2377;

/** An SSH endpoint as the access outputs describe it. */
const accessHost = (e: { name: string; host: string; port: number; user: string; hostKey: string }, role: AccessHost["role"]): AccessHost => ({
    name: e.name,
    address: e.host,
    port: e.port,
    user: e.user,
    hostKey: e.hostKey,
    role,
});
const GOSSIP_PORT = 7946;

/** The pure part of the component: which node joins how, over which connection, probing what. */
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
        user: h.user ?? args.sshUser,
        hostKey: h.hostKey,
        bastion,
    });
    const bind = (h: ClusterHost) => ({
        advertiseAddr: h.privateAddress,
        listenAddr: `${h.privateAddress}:${SWARM_PORT}`,
        dataPathAddr: h.privateAddress,
    });
    const workers = args.workers ?? [];
    const all = [...args.managers.map((h) => ({ h, role: "manager" as NodeRole })), ...workers.map((h) => ({ h, role: "worker" as NodeRole }))];
    const probesFrom = (self: ClusterHost): PortProbe[] =>
        args.hostCheck?.ports === false
            ? []
            : all
                  .filter((o) => o.h.name !== self.name)
                  .flatMap((o) => [
                      ...(o.role === "manager" ? [{ name: o.h.name, host: o.h.privateAddress, port: SWARM_PORT }] : []),
                      { name: o.h.name, host: o.h.privateAddress, port: GOSSIP_PORT },
                  ]);
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
        /** Every node's membership: the managers first (in order), then the workers. */
        members: all.map(({ h, role }) => ({
            host: h,
            role,
            connection: connectionOf(h),
            ...bind(h),
            probes: probesFrom(h),
            labels: h.labels ?? {},
            availability: h.availability ?? ("active" as NodeAvailability),
        })),
        access: {
            bastion: accessHost(bastion, "bastion"),
            nodes: all.map(({ h, role }) => ({ ...accessHost(connectionOf(h), role), labels: h.labels })),
        },
    };
}

export class SwarmCluster extends pulumi.ComponentResource {
    public readonly swarmId: pulumi.Output<string>;
    /** Join tokens (secret). */
    public readonly workerToken: pulumi.Output<string>;
    public readonly managerToken: pulumi.Output<string>;
    /** The key a restarted manager of an autolocked swarm needs (secret; "" without autolock). */
    public readonly unlockKey: pulumi.Output<string>;
    /** Every node with its role and Swarm node ID. */
    public readonly nodes: pulumi.Output<ClusterNode[]>;
    /** How stacks reach a manager of this swarm (through the bastion; the other managers as alternates). */
    /** Each node's own connection (through the bastion), by host name: for what lives on one node (volumes). */
    public readonly nodeConnections: Record<string, HostConnection>;
    public readonly managerConnection: HostConnection;
    /** The memberships and node specs, for `dependsOn` of stacks. */
    public readonly members: pulumi.Resource[];
    /** OpenSSH config: `ssh -F <file> <node>` through the bastion (with `knownHosts` in its UserKnownHostsFile). */
    public readonly sshConfig: string;
    /** known_hosts lines of every host (keyed by host name; the SSH config sets HostKeyAlias). */
    public readonly knownHosts: string;
    /** Ansible inventory (YAML), every host through the bastion. */
    public readonly ansibleInventory: string;

    constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:cluster:SwarmCluster", name, {}, opts);
        const plan = planCluster(args);
        const privateKey = pulumi.secret(args.privateKey);

        // 1. Every host is checked before anything else happens.
        const checks = new Map(
            plan.members.map((m) => [
                m.host.name,
                new HostCheck(
                    `${name}-${m.host.name}-check`,
                    {
                        connection: m.connection,
                        privateKey,
                        minDockerVersion: args.hostCheck?.minDockerVersion,
                        installDocker: args.hostCheck?.installDocker,
                        probes: m.probes,
                    },
                    { parent: this },
                ),
            ]),
        );

        // 2. The swarm, on the first manager.
        const init = new SwarmInit(
            name,
            {
                connection: plan.first.connection,
                privateKey,
                advertiseAddr: plan.first.advertiseAddr,
                listenAddr: plan.first.listenAddr,
                dataPathAddr: plan.first.dataPathAddr,
                autolock: args.autolock ?? false,
                joinTokenRotation: args.joinTokenRotation ?? 0,
            },
            // Stacks created before every host had a membership named the init after its host.
            { parent: this, dependsOn: [...checks.values()], aliases: [{ name: `${name}-${plan.first.host.name}` }] },
        );

        // 3. Memberships (the first manager's adopts what init made) and node specs. Every other
        // membership depends on the first manager's, so a destroy retires the first manager last.
        let previousManager: pulumi.Resource = init;
        let firstMember: pulumi.Resource = init;
        const members = plan.members.map((m) => {
            const join = new SwarmJoin(
                `${name}-${m.host.name}`,
                {
                    connection: m.connection,
                    privateKey,
                    role: m.role,
                    swarmId: init.swarmId,
                    joinToken: m.role === "manager" ? init.managerToken : init.workerToken,
                    remoteAddrs: [init.joinAddr],
                    advertiseAddr: m.advertiseAddr,
                    listenAddr: m.listenAddr,
                    dataPathAddr: m.dataPathAddr,
                    manager: plan.manager,
                },
                // Managers join one at a time (each waits for the previous one to be reachable);
                // workers join in parallel.
                { parent: this, dependsOn: [m.role === "manager" ? previousManager : firstMember, checks.get(m.host.name)!] },
            );
            if (m.role === "manager") previousManager = join;
            if (firstMember === init) firstMember = join;
            const spec = new NodeSpec(
                `${name}-${m.host.name}-spec`,
                {
                    connection: plan.manager,
                    privateKey,
                    node: join.nodeId,
                    labels: m.labels,
                    availability: m.availability,
                },
                { parent: this, dependsOn: [join] },
            );
            return { join, spec, role: m.role, name: m.host.name };
        });

        this.swarmId = init.swarmId;
        this.workerToken = pulumi.secret(init.workerToken);
        this.managerToken = pulumi.secret(init.managerToken);
        this.unlockKey = pulumi.secret(init.unlockKey);
        this.managerConnection = plan.manager;
        this.nodeConnections = Object.fromEntries(plan.members.map((m) => [m.host.name, m.connection]));
        this.members = [init, ...members.flatMap((m) => [m.join, m.spec])];
        this.nodes = pulumi.all(
            members.map((m) => pulumi.all([m.join.nodeId, m.join.hostname, m.join.role]).apply(([nodeId, hostname, role]) => ({ name: m.name, role, nodeId, hostname }))),
        );
        const access = {
            ...plan.access,
            identityFile: args.access?.identityFile ?? "~/.ssh/id_ed25519",
            knownHostsFile: args.access?.knownHostsFile ?? "~/.ssh/known_hosts",
        };
        this.sshConfig = sshConfig(access);
        this.knownHosts = knownHosts(access);
        this.ansibleInventory = ansibleInventory(access);
        this.registerOutputs({
            swarmId: this.swarmId,
            workerToken: this.workerToken,
            managerToken: this.managerToken,
            unlockKey: this.unlockKey,
            nodes: this.nodes,
        });
    }
}
