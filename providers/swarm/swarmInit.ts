// swarm:SwarmInit — the swarm itself, initialized on its first manager, and its cluster-wide
// settings: autolock (the unlock key is a secret output) and join-token rotation on demand.
// Idempotent: a manager that is already in a swarm is adopted, never re-initialized; the
// connection may move to another manager of the same swarm (the first one was retired).
// read() sees a swarm that was left or re-created by hand and an autolock changed by hand;
// delete() makes the manager leave (every member was retired before, by SwarmJoin).
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, knownProps, plain, PROVIDER_VERSION, toTarget } from "./common";
import { lockedError } from "./swarmJoin";

export interface SwarmInitInputs extends ConnectionInputs {
    /** Address other nodes reach this manager on (the private address). */
    advertiseAddr: string;
    /** host:port the manager listens on for cluster traffic. */
    listenAddr: string;
    /** Address used for data-path (VXLAN) traffic. */
    dataPathAddr: string;
    /** Lock the managers' Raft keys at rest (a restarted manager needs the unlock key). */
    autolock: boolean;
    /** Increase to rotate both join tokens. */
    joinTokenRotation: number;
    providerVersion: string;
}

export interface SwarmInitOutputs extends SwarmInitInputs {
    swarmId: string;
    nodeId: string;
    workerToken: string;
    managerToken: string;
    /** host:port other nodes join through. */
    joinAddr: string;
    /** The key `docker swarm unlock` asks for ("" when autolock is off). */
    unlockKey: string;
}

// Nothing replaces the swarm: a new first manager (the old one retired) is another manager of it.
const UPDATE_KEYS: (keyof SwarmInitInputs)[] = ["connection", "advertiseAddr", "listenAddr", "dataPathAddr", "autolock", "joinTokenRotation", "providerVersion"];

function unlockKeyOf(docker: Docker): Promise<string> {
    return new Promise((resolve, reject) =>
        docker.modem.dial({ path: "/swarm/unlockkey", method: "GET", statusCodes: { 200: true, 503: "node is not a manager" } }, (err: unknown, data: unknown) =>
            err ? reject(err) : resolve((data as { UnlockKey?: string }).UnlockKey ?? ""),
        ),
    );
}

/** Sets autolock and rotates the join tokens, on the swarm's current spec and version. */
async function updateSwarm(docker: Docker, change: { autolock?: boolean; rotateTokens?: boolean }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
        const swarm = await docker.swarmInspect();
        const spec = { ...swarm.Spec };
        if (change.autolock !== undefined) spec.EncryptionConfig = { ...spec.EncryptionConfig, AutoLockManagers: change.autolock };
        const query: Record<string, unknown> = { version: swarm.Version.Index };
        if (change.rotateTokens) Object.assign(query, { rotateWorkerToken: true, rotateManagerToken: true });
        try {
            await docker.swarmUpdate({ _query: query, _body: spec });
            return;
        } catch (err) {
            if (attempt < 5 && /out of sequence/i.test(daemonMessage(err))) continue;
            throw new Error(`updating the swarm's settings failed: ${daemonMessage(err)}`);
        }
    }
}

async function inspect(inputs: SwarmInitInputs): Promise<SwarmInitOutputs | undefined> {
    return withSession(toTarget(inputs), async (s) => {
        const docker = s.docker();
        const info = await docker.info();
        if (info.Swarm?.LocalNodeState === "locked") throw lockedError(inputs.connection.name);
        if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm?.ControlAvailable) return undefined;
        const swarm = await docker.swarmInspect();
        const autolock = !!swarm.Spec?.EncryptionConfig?.AutoLockManagers;
        return {
            ...inputs,
            autolock,
            swarmId: swarm.ID,
            nodeId: info.Swarm.NodeID,
            workerToken: swarm.JoinTokens.Worker,
            managerToken: swarm.JoinTokens.Manager,
            joinAddr: `${inputs.advertiseAddr}:2377`,
            unlockKey: autolock ? await unlockKeyOf(docker) : "",
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
            if (state === "locked") throw lockedError(inputs.connection.name);
            if (state === "active") {
                // An existing swarm is adopted; only its autolock setting is brought in line.
                const swarm = await docker.swarmInspect();
                if (!!swarm.Spec?.EncryptionConfig?.AutoLockManagers !== inputs.autolock) await updateSwarm(docker, { autolock: inputs.autolock });
                return;
            }
            try {
                await docker.swarmInit({
                    ListenAddr: inputs.listenAddr,
                    AdvertiseAddr: inputs.advertiseAddr,
                    DataPathAddr: inputs.dataPathAddr,
                    ForceNewCluster: false,
                    AutoLockManagers: inputs.autolock,
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
        const updates = changedKeys(olds, news, UPDATE_KEYS);
        return { changes: updates.length > 0 };
    },

    async update(id, olds, news) {
        const rotateTokens = (olds.joinTokenRotation ?? 0) !== news.joinTokenRotation;
        await withSession(toTarget(news), async (s) => {
            const docker = s.docker();
            const info = await docker.info();
            if (info.Swarm?.LocalNodeState === "locked") throw lockedError(news.connection.name);
            if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm?.ControlAvailable || info.Swarm?.Cluster?.ID !== id) {
                throw new Error(
                    `${news.connection.name} is not a manager of swarm ${id}; the swarm's first manager can only move to another manager of it. ` +
                        `Fix: list a current manager first under swarm-etl:managers, or run \`pulumi refresh\` if the swarm was re-created by hand.`,
                );
            }
            const swarm = await docker.swarmInspect();
            const autolockChanges = !!swarm.Spec?.EncryptionConfig?.AutoLockManagers !== news.autolock;
            if (autolockChanges || rotateTokens) await updateSwarm(docker, { autolock: autolockChanges ? news.autolock : undefined, rotateTokens });
        });
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
    /** @default - false */
    autolock?: pulumi.Input<boolean>;
    /** Increase to rotate both join tokens. @default - 0 */
    joinTokenRotation?: pulumi.Input<number>;
}

/** The swarm, initialized on its first manager. Join tokens and the key are secret outputs. */
export class SwarmInit extends pulumi.dynamic.Resource {
    declare public readonly swarmId: pulumi.Output<string>;
    declare public readonly nodeId: pulumi.Output<string>;
    declare public readonly workerToken: pulumi.Output<string>;
    declare public readonly managerToken: pulumi.Output<string>;
    declare public readonly joinAddr: pulumi.Output<string>;
    declare public readonly unlockKey: pulumi.Output<string>;

    constructor(name: string, args: SwarmInitArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            ...args,
            autolock: args.autolock ?? false,
            joinTokenRotation: args.joinTokenRotation ?? 0,
            unlockKey: undefined,
            providerVersion: PROVIDER_VERSION,
            swarmId: undefined,
            nodeId: undefined,
            workerToken: undefined,
            managerToken: undefined,
            joinAddr: undefined,
        };
        const secretOpts = { additionalSecretOutputs: ["privateKey", "workerToken", "managerToken", "unlockKey"] };
        super(provider, name, props, pulumi.mergeOptions(opts, secretOpts), "swarm", "SwarmInit");
    }
}
