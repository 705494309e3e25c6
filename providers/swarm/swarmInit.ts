// swarm:SwarmInit — the swarm itself, initialized on its first manager.
// Idempotent: a manager that is already in a swarm is adopted, never re-initialized.
// read() sees a swarm that was left or re-created by hand; delete() makes the manager leave.
import * as pulumi from "@pulumi/pulumi";
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, PROVIDER_VERSION, toTarget , knownProps, plain } from "./common";

export interface SwarmInitInputs extends ConnectionInputs {
    /** Address other nodes reach this manager on (the private address). */
    advertiseAddr: string;
    /** host:port the manager listens on for cluster traffic. */
    listenAddr: string;
    /** Address used for data-path (VXLAN) traffic. */
    dataPathAddr: string;
    providerVersion: string;
}

export interface SwarmInitOutputs extends SwarmInitInputs {
    swarmId: string;
    nodeId: string;
    workerToken: string;
    managerToken: string;
    /** host:port other nodes join through. */
    joinAddr: string;
}

const REPLACE_KEYS: (keyof SwarmInitInputs)[] = ["advertiseAddr", "listenAddr", "dataPathAddr"];
const UPDATE_KEYS: (keyof SwarmInitInputs)[] = ["connection", "providerVersion"];

async function inspect(inputs: SwarmInitInputs): Promise<SwarmInitOutputs | undefined> {
    return withSession(toTarget(inputs), async (s) => {
        const docker = s.docker();
        const info = await docker.info();
        if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm?.ControlAvailable) return undefined;
        const swarm = await docker.swarmInspect();
        return {
            ...inputs,
            swarmId: swarm.ID,
            nodeId: info.Swarm.NodeID,
            workerToken: swarm.JoinTokens.Worker,
            managerToken: swarm.JoinTokens.Manager,
            joinAddr: `${inputs.advertiseAddr}:2377`,
        };
    });
}

const provider: pulumi.dynamic.ResourceProvider<SwarmInitInputs, SwarmInitOutputs> = {
    async create(inputs) {
        await withSession(toTarget(inputs), async (s) => {
            const docker = s.docker();
            const info = await docker.info();
            const state = info.Swarm?.LocalNodeState;
            if (state === "active" && !info.Swarm?.ControlAvailable) {
                throw new Error(
                    `${inputs.connection.name} is a worker of another swarm; it cannot be the first manager. ` +
                        `Fix: run \`docker swarm leave\` on it, or list the swarm's existing manager first.`,
                );
            }
            if (state === "active") return; // an existing swarm is adopted as it is
            try {
                await docker.swarmInit({
                    ListenAddr: inputs.listenAddr,
                    AdvertiseAddr: inputs.advertiseAddr,
                    DataPathAddr: inputs.dataPathAddr,
                    ForceNewCluster: false,
                });
            } catch (err) {
                throw new Error(`docker swarm init on ${inputs.connection.name} failed: ${daemonMessage(err)}`);
            }
        });
        const outs = await inspect(inputs);
        if (!outs) throw new Error(`${inputs.connection.name} is not an active manager after swarm init`);
        return { id: outs.swarmId, outs: plain(outs) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:SwarmInit");
        const outs = await inspect(props);
        // A swarm that is gone, or was re-created with another ID, is no longer this resource.
        if (!outs || outs.swarmId !== id) return { id: "", props: {} as SwarmInitOutputs };
        return { id, props: plain(outs) };
    },

    async diff(_id, olds, news) {
        const replaces = changedKeys(olds, news, REPLACE_KEYS);
        const updates = changedKeys(olds, news, UPDATE_KEYS);
        return {
            changes: replaces.length + updates.length > 0,
            replaces: replaces as string[],
            deleteBeforeReplace: true,
        };
    },

    async update(_id, _olds, news) {
        const outs = await inspect(news);
        if (!outs) throw new Error(`${news.connection.name} is no longer a manager of the swarm; run \`pulumi refresh\` and \`pulumi up\``);
        return { outs: plain(outs) };
    },

    async delete(_id, props) {
        await withSession(toTarget(props), async (s) => {
            const docker = s.docker();
            const info = await docker.info();
            if (info.Swarm?.LocalNodeState === "inactive") return;
            try {
                await docker.swarmLeave({ force: true });
            } catch (err) {
                throw new Error(`docker swarm leave on ${props.connection.name} failed: ${daemonMessage(err)}`);
            }
        });
    },
};

export interface SwarmInitArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    advertiseAddr: pulumi.Input<string>;
    listenAddr: pulumi.Input<string>;
    dataPathAddr: pulumi.Input<string>;
}

/** The swarm, initialized on its first manager. Join tokens and the key are secret outputs. */
export class SwarmInit extends pulumi.dynamic.Resource {
    declare public readonly swarmId: pulumi.Output<string>;
    declare public readonly nodeId: pulumi.Output<string>;
    declare public readonly workerToken: pulumi.Output<string>;
    declare public readonly managerToken: pulumi.Output<string>;
    declare public readonly joinAddr: pulumi.Output<string>;

    constructor(name: string, args: SwarmInitArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            ...args,
            providerVersion: PROVIDER_VERSION,
            swarmId: undefined,
            nodeId: undefined,
            workerToken: undefined,
            managerToken: undefined,
            joinAddr: undefined,
        };
        const secretOpts = { additionalSecretOutputs: ["privateKey", "workerToken", "managerToken"] };
        super(provider, name, props, pulumi.mergeOptions(opts, secretOpts), "swarm", "SwarmInit");
    }
}
