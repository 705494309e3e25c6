// swarm:ImageCheck — the images a node will run, checked on that node before any service that
// uses them is created or updated: the node's own daemon asks the registry for each image's
// manifest (GET /distribution/<image>/json, as a pull would, without pulling). A missing image,
// an unreachable registry or a digest that does not match fails the check, naming the image, the
// node and the daemon's error, so `pulumi up` stops before it changes a service. A check may also
// ask for memory: the node's total (the daemon's MemTotal) must hold what the services placed
// there reserve (a Spark worker's memory), and for CPUs: a service limited to more CPUs than the
// node has (the daemon's NCPU) never starts there (the daemon refuses the container); either
// fails the same way.
import * as pulumi from "@pulumi/pulumi";
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, knownProps, plain, PROVIDER_VERSION, toTarget } from "./common";

export interface ImageCheckInputs extends ConnectionInputs {
    /** Image references this node may run. */
    images: string[];
    /** Memory the node must have: bytes, and what needs it (for the message), e.g. `spark.workers.memory 2g (+ 1g for the daemon and Python)`. */
    memory?: { bytes: number; what: string; fix: string };
    /** CPUs the node must have: the limit of a service placed there, and what it is (for the message). */
    cpus?: { count: number; what: string; fix: string };
    providerVersion: string;
}

export interface ImageCheckOutputs extends ImageCheckInputs {
    /** The registry's digest of each image, by reference. */
    digests: Record<string, string>;
}

/** The digest a reference pins (`…@sha256:…`), if it pins one. */
export const pinnedDigest = (ref: string) => /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1];

/** One message for every image that failed on the node. */
export function imageCheckMessage(node: string, failures: { image: string; why: string }[]): string {
    const lines = failures.map((f) => `image ${f.image} cannot be pulled on ${node}: ${f.why}`);
    return `${lines.join("; ")}; fix: push the image (bash images/build.sh …) and record its digest, and check that ${node} reaches the registry (a plain-HTTP registry must be in the daemon's insecure-registries); no service was changed`;
}

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
/** The message when a node has less memory than its services need. */
export function memoryCheckMessage(node: string, total: number, m: { bytes: number; what: string; fix: string }): string {
    return `${node} has ${gib(total)} of memory, less than the ${gib(m.bytes)} that ${m.what} needs; fix: ${m.fix}; no service was changed`;
}

/** The message when a node has fewer CPUs than a service placed there is limited to. */
export function cpuCheckMessage(node: string, have: number, c: { count: number; what: string; fix: string }): string {
    return `${node} has ${have} CPU${have === 1 ? "" : "s"}, fewer than the ${c.count} that ${c.what} is limited to (Docker refuses a container limited to more CPUs than its node has); fix: ${c.fix}; no service was changed`;
}

async function check(p: ImageCheckInputs): Promise<ImageCheckOutputs> {
    const node = p.connection.name;
    return withSession({ ...toTarget(p), alternates: undefined }, async (s) => {
        const docker = s.docker();
        const results = await Promise.all(
            p.images.map(async (image) => {
                try {
                    const d = (await docker.getImage(image).distribution()) as { Descriptor?: { digest?: string } };
                    const digest = d.Descriptor?.digest ?? "";
                    const want = pinnedDigest(image);
                    if (want && digest && digest !== want) return { image, why: `the registry has ${digest} under that name, not the pinned ${want}` };
                    return { image, digest };
                } catch (err) {
                    return { image, why: daemonMessage(err) };
                }
            }),
        );
        const failures = results.filter((r): r is { image: string; why: string } => "why" in r);
        if (failures.length) throw new Error(imageCheckMessage(node, failures));
        if (p.memory || p.cpus) {
            const info = await docker.info();
            const total = Number(info.MemTotal ?? 0);
            if (p.memory && total < p.memory.bytes) throw new Error(memoryCheckMessage(node, total, p.memory));
            const ncpu = Number(info.NCPU ?? 0);
            if (p.cpus && ncpu < p.cpus.count) throw new Error(cpuCheckMessage(node, ncpu, p.cpus));
        }
        return { ...p, digests: Object.fromEntries(results.map((r) => [r.image, (r as { digest: string }).digest])) };
    });
}

const provider: pulumi.dynamic.ResourceProvider<ImageCheckInputs, ImageCheckOutputs> = {
    async create(inputs) {
        return { id: `${inputs.connection.name}-images`, outs: plain(await check(inputs)) };
    },
    async read(id, maybeProps) {
        return { id, props: plain(knownProps(maybeProps, "swarm:ImageCheck")) };
    },
    async diff(_id, olds, news) {
        return { changes: changedKeys(olds, news, ["images", "memory", "cpus", "connection", "providerVersion"]).length > 0 };
    },
    async update(_id, _olds, news) {
        return { outs: plain(await check(news)) };
    },
};

export interface ImageCheckArgs {
    /** The node's own connection (through the bastion), not a manager's. */
    connection: pulumi.Input<ConnectionInputs["connection"]>;
    privateKey: pulumi.Input<string>;
    images: pulumi.Input<pulumi.Input<string>[]>;
    memory?: ImageCheckInputs["memory"];
    cpus?: ImageCheckInputs["cpus"];
}

/** Checks, on one node, that every image it may run can be pulled there. */
export class ImageCheck extends pulumi.dynamic.Resource {
    declare public readonly digests: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ImageCheckArgs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, providerVersion: PROVIDER_VERSION, digests: undefined }, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "ImageCheck");
    }
}
