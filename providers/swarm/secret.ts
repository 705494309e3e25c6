// swarm:Secret — a Swarm secret, named by its data (`<name>-<sha256 prefix>`), so a new value is
// a new secret: the engine creates it, moves the services that reference it, then removes the
// old one (create-before-delete; removing one still in use fails, naming the services).
// The value is a secret input (encrypted in state) and never an output: only its sha256 is kept,
// as a secret output. Labels change in place. See versioned.ts.
import * as pulumi from "@pulumi/pulumi";
import { PROVIDER_VERSION } from "./common";
import { VersionedArgs, versionedProvider } from "./versioned";

const provider = versionedProvider("secret");

export type SecretArgs = VersionedArgs;

/** A Swarm secret, for `ServiceArgs.secrets` (`{ secretId, secretName, target }`). */
export class Secret extends pulumi.dynamic.Resource {
    declare public readonly secretId: pulumi.Output<string>;
    /** The Swarm name, `<name>-<suffix>`. */
    declare public readonly secretName: pulumi.Output<string>;
    /** sha256 of the data, hex (a secret output). */
    declare public readonly dataHash: pulumi.Output<string>;
    declare public readonly labels: pulumi.Output<Record<string, string> | undefined>;
    /** A generated TLS identity's certificate (PEM, public: what its clients trust); unset otherwise. */
    declare public readonly certificate: pulumi.Output<string | undefined>;

    constructor(name: string, args: SecretArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            ...args,
            data: args.data === undefined ? undefined : pulumi.secret(args.data),
            providerVersion: PROVIDER_VERSION,
            secretId: undefined,
            secretName: undefined,
            dataHash: undefined,
            certificate: undefined,
        };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey", "dataHash"] }), "swarm", "Secret");
    }
}
