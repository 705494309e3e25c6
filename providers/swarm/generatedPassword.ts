// swarm:GeneratedPassword — a random value made once by the provider (Node's crypto, base64url)
// and kept in the state as a secret output, for a secret the program itself must also know (the
// bootstrap admin credential the realm-as-code resources use), unlike a generated Swarm Secret,
// whose value never leaves the provider. @pulumi/random would do the same, but its provider is a
// Terraform bridge that cannot be built on this project's machines (README: the lab). A new
// `bytes` makes a new value (replace); nothing else changes it.
import { randomBytes } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { knownProps, plain, PROVIDER_VERSION } from "./common";

export interface GeneratedPasswordInputs {
    /** Random bytes; the value is their base64url text (4 characters per 3 bytes, from A–Z a–z 0–9 - _). */
    bytes: number;
    providerVersion: string;
}

export interface GeneratedPasswordOutputs extends GeneratedPasswordInputs {
    value: string;
}

export function generatedPasswordProblems(bytes: unknown): string[] {
    return Number.isInteger(bytes) && (bytes as number) >= 16 && (bytes as number) <= 256
        ? []
        : [`bytes must be a whole number from 16 to 256, got ${JSON.stringify(bytes)}; fix: 30 (40 characters)`];
}

const provider: pulumi.dynamic.ResourceProvider<GeneratedPasswordInputs, GeneratedPasswordOutputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: generatedPasswordProblems(news.bytes).map((reason) => ({ property: "bytes", reason })) };
    },
    async create(inputs) {
        return { id: randomBytes(8).toString("hex"), outs: plain({ ...inputs, value: randomBytes(inputs.bytes).toString("base64url") }) };
    },
    async read(id, props) {
        return { id, props: plain(knownProps(props, "swarm:GeneratedPassword")) };
    },
    async diff(_id, olds, news) {
        const replace = olds.bytes !== news.bytes;
        return { changes: replace || olds.providerVersion !== news.providerVersion, replaces: replace ? ["bytes"] : [], deleteBeforeReplace: false };
    },
    async update(_id, olds, news) {
        return { outs: plain({ ...news, value: olds.value }) };
    },
};

export interface GeneratedPasswordArgs {
    /** @default - 30 */
    bytes?: number;
}

export class GeneratedPassword extends pulumi.dynamic.Resource {
    /** The value (a secret output). */
    declare public readonly value: pulumi.Output<string>;

    constructor(name: string, args: GeneratedPasswordArgs = {}, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { bytes: args.bytes ?? 30, providerVersion: PROVIDER_VERSION, value: undefined }, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["value"] }), "swarm", "GeneratedPassword");
    }
}
