// Pure functions of swarm:NodeSpec: find the node, plan the spec to send (and what to remember
// of the node as it was, so delete() restores it), read back the managed fields of a live spec,
// the quorum guard of role changes, and the diff decision. No I/O here: tested directly.
import type { NodeRole } from "./swarmJoin";
import { changedKeys } from "./common";

export type NodeAvailability = "active" | "pause" | "drain";
export const AVAILABILITIES: readonly NodeAvailability[] = ["active", "pause", "drain"];
export const ROLES: readonly NodeRole[] = ["manager", "worker"];

/** What a NodeSpec manages; everything left out is left as it is on the node. */
export interface NodeSpecFields {
    /** Labels this resource sets. */
    labels?: Record<string, string>;
    /** Label key prefixes this resource owns: a label under one of them that `labels` does not list is removed. */
    labelPrefixes?: string[];
    availability?: NodeAvailability;
    role?: NodeRole;
}

/** The node as it was before this resource first touched each managed field (`null`: the label was absent). */
export interface OriginalSpec {
    labels: Record<string, string | null>;
    availability?: NodeAvailability;
    role?: NodeRole;
}

/** Docker's NodeSpec. */
export interface DockerNodeSpec {
    Name?: string;
    Labels?: Record<string, string>;
    Role: NodeRole;
    Availability: NodeAvailability;
}

/** One entry of `docker node ls`, as much as the provider needs. */
export interface NodeView {
    id: string;
    hostname: string;
    role: NodeRole;
    /** ready, down, unknown, disconnected. */
    state: string;
    /** Managers only: reachable, unreachable, unknown. */
    reachability?: string;
}

const FIELD_KEYS: (keyof NodeSpecFields)[] = ["labels", "labelPrefixes", "availability", "role"];

export function ownedBy(prefixes: readonly string[] | undefined, key: string): boolean {
    return (prefixes ?? []).some((p) => key.startsWith(p));
}

function managesLabel(f: NodeSpecFields | undefined, key: string): boolean {
    return !!f && (Object.prototype.hasOwnProperty.call(f.labels ?? {}, key) || ownedBy(f.labelPrefixes, key));
}

/** The managed fields of a resource's inputs or outputs, nothing else. */
export function nodeSpecFields(p: NodeSpecFields): NodeSpecFields {
    const { labels, labelPrefixes, availability, role } = p;
    return { labels, labelPrefixes, availability, role };
}

/**
 * The spec to send so the node has `want`, and the updated memory of the node as it was.
 * `prev` is what the resource managed until now (absent on create). A field or label that
 * `prev` managed and `want` no longer does is restored from `original`; delete() is a plan with
 * `want = {}`. Labels outside both are never touched.
 */
export function planNodeSpec(
    live: DockerNodeSpec,
    want: NodeSpecFields,
    prev?: { fields: NodeSpecFields; original?: OriginalSpec },
): { spec: DockerNodeSpec; original: OriginalSpec } {
    const liveLabels = live.Labels ?? {};
    const orig = prev?.original ?? { labels: {} };
    const wasManaged = (k: string) => !!prev && (managesLabel(prev.fields, k) || Object.prototype.hasOwnProperty.call(orig.labels, k));
    const keys = new Set([...Object.keys(liveLabels), ...Object.keys(orig.labels), ...Object.keys(want.labels ?? {})]);
    const labels: Record<string, string> = {};
    const originalLabels: Record<string, string | null> = {};
    for (const k of [...keys].sort()) {
        const before = wasManaged(k) ? (orig.labels[k] ?? null) : (liveLabels[k] ?? null);
        let value: string | null;
        if (managesLabel(want, k)) {
            value = want.labels?.[k] ?? null; // owned by a prefix but not listed: absent
            if (value !== null || before !== null) originalLabels[k] = before;
        } else {
            value = wasManaged(k) ? before : (liveLabels[k] ?? null);
        }
        if (value !== null) labels[k] = value;
    }
    const wasM = (f: "availability" | "role") => !!prev && (prev.fields[f] !== undefined || orig[f] !== undefined);
    const availability = planScalar(want.availability, wasM("availability"), orig.availability, live.Availability);
    const role = planScalar(want.role, wasM("role"), orig.role, live.Role);
    return {
        spec: { ...live, Labels: labels, Availability: availability.value, Role: role.value },
        original: {
            labels: originalLabels,
            ...(availability.original !== undefined ? { availability: availability.original } : {}),
            ...(role.original !== undefined ? { role: role.original } : {}),
        },
    };
}

/** One scalar field: the wanted value, else the original when it was managed until now, else the live one. */
function planScalar<T>(want: T | undefined, wasManaged: boolean, original: T | undefined, live: T): { value: T; original?: T } {
    const before = wasManaged ? (original ?? live) : live;
    if (want !== undefined) return { value: want, original: before };
    return { value: before };
}

/**
 * The live node seen through what `declared` manages: its labels under the listed keys and the
 * owned prefixes, availability and role only where declared. An unchanged node shows no diff;
 * a label added by hand under an owned prefix, or a drain by hand, shows exactly that change.
 */
export function nodeSpecFromLive(live: DockerNodeSpec, declared: NodeSpecFields): NodeSpecFields {
    const labels = Object.fromEntries(
        Object.entries(live.Labels ?? {})
            .filter(([k]) => managesLabel(declared, k))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    return {
        ...(Object.keys(labels).length ? { labels } : {}),
        ...(declared.labelPrefixes ? { labelPrefixes: declared.labelPrefixes } : {}),
        ...(declared.availability !== undefined ? { availability: live.Availability } : {}),
        ...(declared.role !== undefined ? { role: live.Role } : {}),
    };
}

/** The node `ref` (an ID or a hostname) names, undefined when none does; throws when a hostname is ambiguous. */
export function findNode(nodes: readonly NodeView[], ref: string): NodeView | undefined {
    const byId = nodes.find((n) => n.id === ref);
    if (byId) return byId;
    const named = nodes.filter((n) => n.hostname === ref);
    // A host that left and rejoined leaves its old entry behind as "down".
    const current = named.length > 1 ? named.filter((n) => n.state !== "down") : named;
    if (current.length > 1) {
        throw new Error(
            `node "${ref}" is ambiguous: ${current.length} nodes of the swarm have that hostname (${current.map((n) => `${n.id} ${n.state}`).join(", ")}). ` +
                `Fix: set node to one of these IDs, or remove the stale entries with \`docker node rm\`.`,
        );
    }
    return current[0];
}

export function noSuchNode(ref: string, nodes: readonly NodeView[]): Error {
    return new Error(
        `no node "${ref}" in the swarm (nodes: ${nodes.map((n) => n.hostname).join(", ") || "none"}). ` +
            `Fix: set node to the hostname or ID of a member (\`docker node ls\` on a manager), or join the host first.`,
    );
}

/**
 * Why `nodeId` must not change to role `to`, or undefined when the change is safe: never demote
 * the last manager or the manager the provider connects through (`via`), and never leave the
 * managers without a reachable majority (Raft's quorum) — before or after the change.
 * `connectionHosts`: names of the connection and its alternates, which must stay managers too.
 */
export function roleChangeProblem(nodes: readonly NodeView[], nodeId: string, to: NodeRole, via?: string, connectionHosts: readonly string[] = []): string | undefined {
    const node = nodes.find((n) => n.id === nodeId);
    if (!node) return `node ${nodeId} is not in the swarm`;
    if (node.role === to) return undefined;
    const managers = nodes.filter((n) => n.role === "manager");
    const reachable = managers.filter((n) => n.reachability === "reachable");
    const list = (ns: NodeView[]) => ns.map((n) => n.hostname).join(", ");
    let after: number;
    let reachableAfter: number;
    if (to === "worker") {
        if (managers.length <= 1) {
            return `refusing to demote ${node.hostname}: it is the last manager of the swarm, which cannot run without one. Fix: promote another node first (role: "manager"), then demote ${node.hostname}.`;
        }
        if (via === nodeId || connectionHosts.includes(node.hostname)) {
            return `refusing to demote ${node.hostname}: it is a manager this resource connects through (its connection or an alternate), which would cut the provider off the swarm. Fix: set connection and alternates to other managers first, then demote ${node.hostname}.`;
        }
        after = managers.length - 1;
        reachableAfter = reachable.length - (node.reachability === "reachable" ? 1 : 0);
    } else {
        if (node.state !== "ready") {
            return `refusing to promote ${node.hostname}: its state is ${node.state}, and a manager that cannot vote weakens the quorum. Fix: bring ${node.hostname} back (Ready in \`docker node ls\`), then run pulumi up again.`;
        }
        after = managers.length + 1;
        reachableAfter = reachable.length + 1;
    }
    if (2 * reachableAfter <= after) {
        const unreachable = managers.filter((n) => n.reachability !== "reachable" && n.id !== nodeId);
        return (
            `refusing to ${to === "worker" ? "demote" : "promote"} ${node.hostname}: ${reachableAfter} of ${after} managers would be reachable, ` +
            `and Raft needs a majority (more than ${after / 2}) to keep the swarm's quorum. ` +
            `Fix: bring the unreachable managers back first (${list(unreachable) || "none"}), or remove them with \`docker node demote\`/\`docker node rm\`.`
        );
    }
    return undefined;
}

/** The diff of a NodeSpec: the node (or its ID, when it rejoined) replaces; everything else updates in place. */
export function nodeSpecDiff(
    id: string,
    olds: NodeSpecFields & { node: string; nodeId?: string; connection?: unknown; providerVersion?: string },
    news: NodeSpecFields & { node: string; connection?: unknown; providerVersion?: string },
) {
    const replaces: string[] = [];
    if (olds.node !== news.node || (olds.nodeId !== undefined && olds.nodeId !== id)) replaces.push("node");
    const updates = changedKeys(nodeSpecFields(olds), nodeSpecFields(news), FIELD_KEYS) as string[];
    const other = changedKeys(olds, news, ["connection", "providerVersion"]);
    return {
        changes: replaces.length + updates.length + other.length > 0,
        replaces,
        detailedDiff: Object.fromEntries([
            ...replaces.map((k) => [k, { kind: "update-replace" as const, inputDiff: true }]),
            ...updates.map((k) => [k, { kind: "update" as const, inputDiff: true }]),
        ]),
        // Restore the node first, then adopt it again: never remember our own spec as the original.
        deleteBeforeReplace: true,
    };
}
