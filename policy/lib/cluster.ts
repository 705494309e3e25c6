// The swarm's members as a stack declares them: SwarmInit (the swarm, on its first manager),
// SwarmJoin (a node's membership and role; the program declares one for every host, the first
// manager's included) and the NodeSpec resources that set a node's availability and labels (and
// possibly its role). Used by the stack rules about managers.
//
// A host is identified by its SSH connection (address and port): SwarmInit and the first
// manager's SwarmJoin are one member. A NodeSpec names its node by host name, hostname or node ID;
// while that is not known (preview of a new node: `node: join.nodeId`), the NodeSpec is matched
// through its property dependency on the SwarmJoin.
import type { PolicyResource } from "@pulumi/policy";
import { TYPES } from "./types";
import type { ConnectionProps, NodeSpecProps, SwarmJoinProps } from "./types";
import { hasUnknown, isObject, isUnknown, knownString, raw } from "./values";

export type Role = "manager" | "worker";

export interface Member {
    /** SwarmInit/SwarmJoin resources of this host. */
    urns: string[];
    /** The host's name as configured (connection.name), else the resource name. */
    title: string;
    /** Names a NodeSpec may use for it: host name, hostname, node ID (those that are known). */
    names: string[];
    /** As declared by SwarmJoin (SwarmInit: manager), then by a NodeSpec; undefined while unknown. */
    role: Role | undefined;
    /** From the node's NodeSpec ("active", Docker's default, when none sets it); undefined while unknown. */
    availability: string | undefined;
    /** The NodeSpec that sets its availability, where violations about it belong. */
    specUrn?: string;
    /**
     * Its node labels, from the NodeSpec that names it ({} when none sets them); undefined while
     * they (or one of their values) are unknown.
     */
    labels: Record<string, string> | undefined;
}

export interface Cluster {
    /** False when the stack declares no SwarmInit: the manager rules do not apply. */
    declared: boolean;
    members: Member[];
    /** NodeSpecs that cannot be matched to a member yet (node unknown, no dependency). */
    unresolvedNodeSpecs: number;
}

const asRole = (v: unknown): Role | undefined => (v === "manager" || v === "worker" ? v : undefined);

/** `host:port` of a connection, or undefined while unknown. */
function hostKeyOf(c: ConnectionProps | undefined): string | undefined {
    if (!isObject(c)) return undefined;
    const host = knownString(c.host);
    return host === undefined ? undefined : `${host}:${typeof c.port === "number" ? c.port : 22}`;
}

/** The members the stack declares, with what its NodeSpecs change. */
export function clusterOf(resources: PolicyResource[]): Cluster {
    const members: Member[] = [];
    const byHost = new Map<string, Member>();
    // SwarmInit first, so the first manager's SwarmJoin merges into it.
    const memberships = resources.filter((r) => r.type === TYPES.swarmInit).concat(resources.filter((r) => r.type === TYPES.swarmJoin));
    for (const r of memberships) {
        const p = raw<SwarmJoinProps & { nodeId?: unknown }>(r.props);
        const conn = isObject(p.connection) ? (p.connection as ConnectionProps) : undefined;
        const host = hostKeyOf(conn);
        const names = [knownString(conn?.name), knownString(p.hostname), knownString(p.nodeId)].filter((n): n is string => !!n);
        const role: Role | undefined = r.type === TYPES.swarmInit ? "manager" : asRole(p.role);
        const existing = host !== undefined ? byHost.get(host) : undefined;
        if (existing) {
            existing.urns.push(r.urn);
            existing.names.push(...names.filter((n) => !existing.names.includes(n)));
            existing.role = role; // the membership says what the node is
            continue;
        }
        const member: Member = { urns: [r.urn], title: knownString(conn?.name) ?? r.name, names, role, availability: "active", labels: {} };
        members.push(member);
        if (host !== undefined) byHost.set(host, member);
    }
    let unresolvedNodeSpecs = 0;
    for (const r of resources) {
        if (r.type !== TYPES.nodeSpec) continue;
        const p = raw<NodeSpecProps>(r.props);
        const node = knownString(p.node);
        const viaDependency = (r.propertyDependencies?.node ?? []).map((d) => d.urn);
        const member =
            (node !== undefined ? members.find((m) => m.names.includes(node)) : undefined) ?? members.find((m) => m.urns.some((u) => viaDependency.includes(u)));
        if (!member) {
            if (node === undefined) unresolvedNodeSpecs++; // unknown and unmatched: its effect is not known yet
            continue; // a node outside the stack's cluster
        }
        if (p.role !== undefined && p.role !== null) member.role = isUnknown(p.role) ? undefined : asRole(p.role);
        if (p.availability !== undefined && p.availability !== null) {
            member.availability = knownString(p.availability);
            member.specUrn = r.urn;
        }
        if (p.labels !== undefined && p.labels !== null) {
            if (!isObject(p.labels) || hasUnknown(p.labels)) member.labels = undefined;
            else if (member.labels !== undefined) {
                for (const [k, v] of Object.entries(p.labels)) if (typeof v === "string") member.labels[k] = v;
            }
        }
    }
    return { declared: resources.some((r) => r.type === TYPES.swarmInit), members, unresolvedNodeSpecs };
}

/** The managers, or undefined when a role is not known yet (preview). */
export function managersOf(c: Cluster): Member[] | undefined {
    if (c.members.some((m) => m.role === undefined)) return undefined;
    return c.members.filter((m) => m.role === "manager");
}
