// swarm:Config — a Swarm config, named by its data (`<name>-<sha256 prefix>`), so a new value is
// a new config: the engine creates it, moves the services that reference it, then removes the
// old one (create-before-delete; removing one still in use fails, naming the services).
// The data is not an output (only its sha256); pass a pulumi.secret to keep it encrypted in the
// inputs too. Labels change in place. See versioned.ts.
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, PROVIDER_VERSION } from "./common";
import { versionedProvider } from "./versioned";

const provider = versionedProvider("config");

export interface ConfigArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    /** Base name; the config is named `<name>-<version or first 10 hex of sha256(data)>`. */
    name: pulumi.Input<string>;
    /** The content (UTF-8 text, 1 byte to 1000 KiB); a pulumi.secret stays encrypted in state. */
    data: pulumi.Input<string>;
    /**
     * Names the config `<name>-<version>` instead of by the data's hash; must change with the data.
     * @default - the first 10 hex digits of the data's sha256
     */
    version?: pulumi.Input<string>;
    /** Labels of the config; changed in place. @default - none */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** A Swarm config, for `ServiceArgs.configs` (`{ configId, configName, target }`). */
export class Config extends pulumi.dynamic.Resource {
    declare public readonly configId: pulumi.Output<string>;
    /** The Swarm name, `<name>-<suffix>`. */
    declare public readonly configName: pulumi.Output<string>;
    /** sha256 of the data, hex. */
    declare public readonly dataHash: pulumi.Output<string>;
    declare public readonly labels: pulumi.Output<Record<string, string> | undefined>;

    constructor(name: string, args: ConfigArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, providerVersion: PROVIDER_VERSION, configId: undefined, configName: undefined, dataHash: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "Config");
    }
}
