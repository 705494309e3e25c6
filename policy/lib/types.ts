// The resources the rules look at: type tokens as the engine reports them, and the shape of their
// inputs (mirroring providers/swarm/*.ts; the pack is its own package and does not import the
// program). Every field is optional and may be an unknown sentinel during preview: read them
// through lib/values.ts.

/** Dynamic-provider resources of providers/swarm: `pulumi-nodejs:dynamic/swarm:<Type>`. */
export const SWARM_TYPE_PREFIX = "pulumi-nodejs:dynamic/swarm:";

export const TYPES = {
    swarmInit: `${SWARM_TYPE_PREFIX}SwarmInit`,
    swarmJoin: `${SWARM_TYPE_PREFIX}SwarmJoin`,
    network: `${SWARM_TYPE_PREFIX}Network`,
    service: `${SWARM_TYPE_PREFIX}Service`,
    secret: `${SWARM_TYPE_PREFIX}Secret`,
    config: `${SWARM_TYPE_PREFIX}Config`,
    nodeSpec: `${SWARM_TYPE_PREFIX}NodeSpec`,
    volume: `${SWARM_TYPE_PREFIX}Volume`,
    hostCheck: `${SWARM_TYPE_PREFIX}HostCheck`,
} as const;

/** True for any resource of our Swarm provider. */
export const isSwarmType = (type: string) => type.startsWith(SWARM_TYPE_PREFIX);

/** One SSH endpoint (providers/ssh/client.ts SshEndpoint). */
export interface EndpointProps {
    name?: unknown;
    host?: unknown;
    port?: unknown;
    user?: unknown;
    /** "<type> <base64>", the pinned public host key. */
    hostKey?: unknown;
}

/** How a resource reaches its host (providers/swarm/common.ts HostConnection). */
export interface ConnectionProps extends EndpointProps {
    bastion?: EndpointProps | unknown;
    alternates?: EndpointProps[] | unknown;
}

export interface SwarmInitProps {
    connection?: ConnectionProps;
    /** Lock the Raft keys at rest (`docker swarm init --autolock`). */
    autolock?: unknown;
}

export interface SwarmJoinProps {
    connection?: ConnectionProps;
    /** A manager of the swarm the provider uses for node operations. */
    manager?: ConnectionProps;
    role?: unknown;
    hostname?: unknown;
}

export interface NodeSpecProps {
    connection?: ConnectionProps;
    /** Hostname or node ID. */
    node?: unknown;
    role?: unknown;
    availability?: unknown;
    labels?: unknown;
}

export interface NetworkProps {
    connection?: ConnectionProps;
    name?: unknown;
    encrypted?: unknown;
    internal?: unknown;
    labels?: unknown;
}

export interface PortProps {
    target?: unknown;
    published?: unknown;
    protocol?: unknown;
    mode?: unknown;
}

export interface MountProps {
    type?: unknown;
    source?: unknown;
    target?: unknown;
    readOnly?: unknown;
}

/** providers/swarm/serviceSpec.ts ServiceFields, as inputs. */
export interface ServiceProps {
    connection?: ConnectionProps;
    name?: unknown;
    image?: unknown;
    mode?: unknown;
    replicas?: unknown;
    env?: unknown;
    mounts?: unknown;
    networks?: unknown;
    constraints?: unknown;
    resources?: unknown;
    restartPolicy?: unknown;
    healthcheck?: unknown;
    ports?: unknown;
    labels?: unknown;
    capAdd?: unknown;
}
