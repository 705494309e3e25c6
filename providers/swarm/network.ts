// swarm:Network — an overlay network. Docker networks are immutable, so any change replaces it.
// read() reports a network removed by hand; delete() tolerates one already gone.
import * as pulumi from "@pulumi/pulumi";
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, PROVIDER_VERSION, statusCode, toTarget , knownProps, plain } from "./common";

export interface NetworkFields {
    name: string;
    attachable: boolean;
    internal: boolean;
    /** IPsec encryption of the data path (`--opt encrypted`). */
    encrypted: boolean;
    subnet?: string;
    gateway?: string;
    labels?: Record<string, string>;
}

export interface NetworkInputs extends ConnectionInputs, NetworkFields {
    providerVersion: string;
}

export interface NetworkOutputs extends NetworkInputs {
    networkId: string;
    /** The subnet the network has (asked for, or the one Docker picked): e.g. whose peers a service trusts. */
    liveSubnet?: string;
}

const FIELDS: (keyof NetworkFields)[] = ["name", "attachable", "internal", "encrypted", "subnet", "gateway", "labels"];

interface NetworkView {
    Id: string;
    Name: string;
    Attachable?: boolean;
    Internal?: boolean;
    Options?: Record<string, string>;
    Labels?: Record<string, string>;
    IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
}

/** The managed fields of a live network; subnet/gateway only where they were asked for (else Docker picks them). */
export function networkFieldsFromLive(n: NetworkView, wanted: Partial<NetworkFields>): NetworkFields {
    const ipam = n.IPAM?.Config?.[0];
    return {
        name: n.Name,
        attachable: !!n.Attachable,
        internal: !!n.Internal,
        encrypted: n.Options ? "encrypted" in n.Options : false,
        ...(wanted.subnet ? { subnet: ipam?.Subnet } : {}),
        ...(wanted.gateway ? { gateway: ipam?.Gateway } : {}),
        ...(n.Labels && Object.keys(n.Labels).length ? { labels: n.Labels } : {}),
    };
}

const liveSubnetOf = (n: NetworkView): string | undefined => n.IPAM?.Config?.find((c) => c.Subnet)?.Subnet;

const provider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> = {
    async create(inputs) {
        const made = await withSession(toTarget(inputs), async (s) => {
            let id: string;
            try {
                const net = await s.docker().createNetwork({
                    Name: inputs.name,
                    Driver: "overlay",
                    CheckDuplicate: true,
                    Attachable: inputs.attachable,
                    Internal: inputs.internal,
                    Labels: inputs.labels ?? {},
                    Options: inputs.encrypted ? { encrypted: "" } : {},
                    IPAM: inputs.subnet ? { Driver: "default", Config: [{ Subnet: inputs.subnet, ...(inputs.gateway ? { Gateway: inputs.gateway } : {}) }] } : undefined,
                });
                id = net.id;
            } catch (err) {
                throw new Error(`creating network ${inputs.name} failed: ${daemonMessage(err)}`);
            }
            // The manager allocates the subnet as it creates the network; asked again if not shown yet.
            let subnet: string | undefined;
            for (let i = 0; i < 10 && !subnet; i++) {
                if (i) await new Promise((r) => setTimeout(r, 200));
                subnet = liveSubnetOf((await s.docker().getNetwork(id).inspect()) as NetworkView);
            }
            return { id, subnet };
        });
        return { id: made.id, outs: plain({ ...inputs, networkId: made.id, ...(made.subnet ? { liveSubnet: made.subnet } : {}) }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:Network");
        return withSession(toTarget(props), async (s) => {
            try {
                const live = (await s.docker().getNetwork(id).inspect()) as NetworkView;
                const subnet = liveSubnetOf(live);
                return { id, props: plain({ ...props, ...networkFieldsFromLive(live, props), networkId: id, ...(subnet ? { liveSubnet: subnet } : {}) }) };
            } catch (err) {
                if (statusCode(err) === 404) return { id: "", props: {} as NetworkOutputs };
                throw err;
            }
        });
    },

    async diff(_id, olds, news) {
        const replaces = changedKeys(olds, news, FIELDS);
        const updates = changedKeys(olds, news, ["connection", "providerVersion"]);
        return { changes: replaces.length + updates.length > 0, replaces: replaces as string[], deleteBeforeReplace: true };
    },

    async update(id, olds, news) {
        return { outs: plain({ ...news, networkId: id, ...(olds.liveSubnet ? { liveSubnet: olds.liveSubnet } : {}) }) };
    },

    async delete(id, props) {
        await withSession(toTarget(props), async (s) => {
            try {
                await s.docker().getNetwork(id).remove();
            } catch (err) {
                if (statusCode(err) !== 404) throw new Error(`removing network ${props.name} failed: ${daemonMessage(err)}`);
            }
        });
    },
};

export interface NetworkArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    name: pulumi.Input<string>;
    /** @default - true */
    attachable?: pulumi.Input<boolean>;
    /** @default - false */
    internal?: pulumi.Input<boolean>;
    /** @default - false */
    encrypted?: pulumi.Input<boolean>;
    subnet?: pulumi.Input<string>;
    gateway?: pulumi.Input<string>;
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An overlay network of the swarm. */
export class Network extends pulumi.dynamic.Resource {
    declare public readonly networkId: pulumi.Output<string>;
    declare public readonly name: pulumi.Output<string>;
    /** The network's subnet as the swarm allocated it (CIDR). */
    declare public readonly liveSubnet: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            attachable: true,
            internal: false,
            encrypted: false,
            ...args,
            providerVersion: PROVIDER_VERSION,
            networkId: undefined,
            liveSubnet: undefined,
        };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "Network");
    }
}
