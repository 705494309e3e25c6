// swarm:Secret — a Swarm secret, named by its data (`<name>-<sha256 prefix>`), so a new value is
// a new secret: the engine creates it, moves the services that reference it, then removes the
// old one (create-before-delete; removing one still in use fails, naming the services).
// The value is a secret input (encrypted in state) and never an output: only its sha256 is kept,
// as a secret output. Labels change in place. See versioned.ts.
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, PROVIDER_VERSION } from "./common";
import { versionedProvider } from "./versioned";

const provider = versionedProvider("secret");

export interface SecretArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    /** Base name; the secret is named `<name>-<version or first 10 hex of sha256(data)>`. */
    name: pulumi.Input<string>;
    /** The value (UTF-8 text, 1 byte to 500 KiB). Always stored as a secret, whether or not it is one. */
    data: pulumi.Input<string>;
    /**
     * Names the secret `<name>-<version>` instead of by the data's hash; must change with the data.
     * Use it for low-entropy values (a hand-picked password) whose hash prefix would help guessing.
     * @default - the first 10 hex digits of the data's sha256
     */
    version?: pulumi.Input<string>;
    /** Labels of the secret; changed in place. @default - none */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** A Swarm secret, for `ServiceArgs.secrets` (`{ secretId, secretName, target }`). */
export class Secret extends pulumi.dynamic.Resource {
    declare public readonly secretId: pulumi.Output<string>;
    /** The Swarm name, `<name>-<suffix>`. */
    declare public readonly secretName: pulumi.Output<string>;
    /** sha256 of the data, hex (a secret output). */
    declare public readonly dataHash: pulumi.Output<string>;
    declare public readonly labels: pulumi.Output<Record<string, string> | undefined>;

    constructor(name: string, args: SecretArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            ...args,
            data: pulumi.secret(args.data),
            providerVersion: PROVIDER_VERSION,
            secretId: undefined,
            secretName: undefined,
            dataHash: undefined,
        };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey", "dataHash"] }), "swarm", "Secret");
    }
}
