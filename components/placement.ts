// Where services may run when a manager is the control node (observability's config): prod drains
// its managers, except the one labelled swarm-etl.control=true, which stays active for the control
// services only (Prometheus and Alertmanager, which read the swarm through that manager's Docker
// API, and the per-node agents). Every other service gets CONTROL_EXCLUDED. The policy pack's
// prod-managers-drained checks the same contract on the previewed resources.
import * as pulumi from "@pulumi/pulumi";
import { Service, type ServiceArgs } from "../providers/swarm";

/** The node label of the control manager. */
export const CONTROL_NODE_LABEL = "swarm-etl.control";
/** The service label that lets a service run on the control manager. */
export const PLACEMENT_LABEL = "swarm-etl.placement";
export const CONTROL_PLACEMENT = "control";
/** The constraint that keeps a service off the control manager. */
export const CONTROL_EXCLUDED = `node.labels.${CONTROL_NODE_LABEL}!=true`;

/** The labels that mark a control service. */
export const controlLabels = { [PLACEMENT_LABEL]: CONTROL_PLACEMENT } as const;

/** Whether the service's labels mark it a control service (labels still unknown: an output). */
function isControl(labels: ServiceArgs["labels"]): boolean | pulumi.Output<boolean> {
    if (labels === undefined) return false;
    if (!pulumi.Output.isInstance(labels) && typeof (labels as Record<string, unknown>)[PLACEMENT_LABEL] !== "object") {
        return (labels as Record<string, unknown>)[PLACEMENT_LABEL] === CONTROL_PLACEMENT;
    }
    return pulumi.output(labels).apply((l) => l?.[PLACEMENT_LABEL] === CONTROL_PLACEMENT);
}

/** A service's arguments with CONTROL_EXCLUDED added to its constraints, unless it is a control service. */
export function keptOffControl(props: ServiceArgs): ServiceArgs {
    const control = isControl(props.labels);
    if (control === true) return props;
    const add = (c: readonly pulumi.Input<string>[] | undefined) => (c?.includes(CONTROL_EXCLUDED) ? [...c] : [...(c ?? []), CONTROL_EXCLUDED]);
    if (control === false && (props.constraints === undefined || Array.isArray(props.constraints))) {
        return { ...props, constraints: add(props.constraints as pulumi.Input<string>[] | undefined) };
    }
    const constraints = pulumi.all([control, props.constraints ?? []]).apply(([isCtl, c]) => (isCtl ? c : add(c)));
    return { ...props, constraints };
}

/**
 * The transformation that applies `keptOffControl` to every Service: give it to a component
 * (`transformations: [keepServicesOffControl]`) and its children inherit it.
 */
export const keepServicesOffControl: pulumi.ResourceTransformation = (args) =>
    args.resource instanceof Service ? { props: keptOffControl(args.props as ServiceArgs), opts: args.opts } : undefined;
