// Where Swarm may place a service's tasks: Docker's placement constraints (`node.role==worker`,
// `node.labels.etl.storage!=postgres`) evaluated against one node, and the labels of the control
// manager (prod-managers-drained): the one manager left active, for the services that must read
// a manager's Docker API (Prometheus, through a read-only socket proxy), and only for them.
//
// The program cannot import the pack (separate packages): it keeps these strings as literals.

/** Node label of the control manager, with the value "true" (swarm-etl:managers[].labels). */
export const CONTROL_NODE_LABEL = "swarm-etl.control";
/** Service label that places a service with the control services... */
export const PLACEMENT_LABEL = "swarm-etl.placement";
/** ...with this value: it may run on the control manager. */
export const CONTROL_PLACEMENT = "control";
/** The constraint the program adds to every service that is not a control service. */
export const EXCLUDE_CONTROL_CONSTRAINT = `node.labels.${CONTROL_NODE_LABEL}!=true`;

/** A node as constraints see it. */
export interface PlacementNode {
    role: string;
    /** Its host name, hostname and node ID (those known): what node.hostname and node.id match. */
    names: string[];
    /** Its node labels. */
    labels: Record<string, string>;
}

const NODE_LABELS = "node.labels.";

/**
 * Whether one constraint holds for the node: true or false, or undefined when it cannot say (an
 * attribute it does not model: node.ip, node.platform.*, engine.labels.*, or not a constraint).
 * As swarmkit does: the first `==`, else the first `!=`, splits key and value (both trimmed);
 * keys and values compare case-insensitively, a label's key case-sensitively; `==` holds when any
 * of the node's values equals the value, `!=` when none does; a missing label equals nothing.
 */
export function constraintHolds(constraint: string, node: PlacementNode): boolean | undefined {
    const op = constraint.includes("==") ? "==" : constraint.includes("!=") ? "!=" : undefined;
    if (!op) return undefined;
    const at = constraint.indexOf(op);
    const key = constraint.slice(0, at).trim();
    const value = constraint.slice(at + op.length).trim();
    if (!key || !value) return undefined;
    const lower = key.toLowerCase();
    let values: string[];
    if (lower === "node.role") values = [node.role];
    else if (lower === "node.hostname" || lower === "node.id") values = node.names;
    else if (lower.startsWith(NODE_LABELS) && key.length > NODE_LABELS.length) {
        const label = node.labels[key.slice(NODE_LABELS.length)];
        values = label === undefined ? [] : [label];
    } else return undefined;
    const match = values.some((v) => v.toLowerCase() === value.toLowerCase());
    return op === "==" ? match : !match;
}

/** True when the constraints keep the node out: at least one of them is false for it. */
export function excludes(constraints: string[], node: PlacementNode): boolean {
    return constraints.some((c) => constraintHolds(c, node) === false);
}
