// swarm:Config — a Swarm config, named by its data (`<name>-<sha256 prefix>`), so a new value is
// a new config: the engine creates it, moves the services that reference it, then removes the
// old one (create-before-delete; removing one still in use fails, naming the services).
// The data is not an output (only its sha256); pass a pulumi.secret to keep it encrypted in the
// inputs too. Labels change in place. See versioned.ts.
import * as pulumi from "@pulumi/pulumi";
import { PROVIDER_VERSION } from "./common";
import { VersionedArgs, versionedProvider } from "./versioned";

const provider = versionedProvider("config");

export type ConfigArgs = VersionedArgs;

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
