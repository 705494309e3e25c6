// swarm:Volume — a local Docker volume on one node, for stateful services pinned to that node
// (constraint `node.hostname==<hostname>`). It is made with that node's own Docker API (the
// connection is the node, through the bastion, not a manager). Volumes are immutable: any change
// replaces it — and a replaced volume starts empty. delete() refuses while a container uses it,
// naming the containers, unless `forceRemove` is set.
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, knownProps, plain, PROVIDER_VERSION, sleep, statusCode, toTarget } from "./common";

export interface VolumeFields {
    name: string;
    driver: string;
    driverOpts?: Record<string, string>;
    labels?: Record<string, string>;
}

export interface VolumeInputs extends ConnectionInputs, VolumeFields {
    /** On delete, also remove the containers that use the volume. */
    forceRemove?: boolean;
    providerVersion: string;
}

export interface VolumeOutputs extends VolumeInputs {
    /** Hostname of the node the volume is on (Docker's own name of the host). */
    hostname: string;
    /** Placement constraint that pins a service to the volume's node. */
    constraint: string;
    mountpoint: string;
}

interface VolumeView {
    Name: string;
    Driver: string;
    Options?: Record<string, string> | null;
    Labels?: Record<string, string> | null;
    Mountpoint: string;
}

const VOLUME_FIELDS: (keyof VolumeFields)[] = ["name", "driver", "driverOpts", "labels"];
/** Docker's rule for volume names. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The managed fields of a live volume (Docker reports no options and no labels as null). */
export function volumeFieldsFromLive(v: VolumeView): VolumeFields {
    return {
        name: v.Name,
        driver: v.Driver,
        ...(v.Options && Object.keys(v.Options).length ? { driverOpts: v.Options } : {}),
        ...(v.Labels && Object.keys(v.Labels).length ? { labels: v.Labels } : {}),
    };
}

const fieldsOf = (p: VolumeFields): VolumeFields => ({ name: p.name, driver: p.driver ?? "local", driverOpts: p.driverOpts, labels: p.labels });
const sameNode = (a: HostConnection, b: HostConnection) => a.host === b.host && a.port === b.port;

/** Every field replaces, and so does another node; the old volume goes first when the name stays on the same node. */
export function volumeDiff(olds: VolumeInputs, news: VolumeInputs) {
    const replaces = changedKeys(fieldsOf(olds), fieldsOf(news), VOLUME_FIELDS) as string[];
    if (!sameNode(olds.connection, news.connection)) replaces.push("connection");
    const updates = changedKeys(olds, news, ["connection", "forceRemove", "providerVersion"]).filter((k) => !replaces.includes(k));
    return {
        changes: replaces.length + updates.length > 0,
        replaces,
        detailedDiff: Object.fromEntries(replaces.map((k) => [k, { kind: "update-replace" as const, inputDiff: true }])),
        deleteBeforeReplace: olds.name === news.name && sameNode(olds.connection, news.connection),
    };
}

/** check(): the name, string-valued options and labels, and one node (no failover to another host). */
export function volumeCheckFailures(news: VolumeInputs): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (typeof news.name !== "string" || !VOLUME_NAME.test(news.name)) {
        failures.push({ property: "name", reason: `volume name ${JSON.stringify(news.name)} is not valid: use 2 or more of [a-zA-Z0-9_.-], starting with a letter or digit` });
    }
    for (const [prop, m] of [["driverOpts", news.driverOpts], ["labels", news.labels]] as const) {
        for (const [k, v] of Object.entries(m ?? {})) {
            if (typeof v !== "string") failures.push({ property: prop, reason: `${prop}.${k} must be a string, got ${JSON.stringify(v)}` });
        }
    }
    if (news.connection?.alternates?.length) {
        failures.push({
            property: "connection",
            reason: `a volume lives on one node, but the connection to ${news.connection.name} has alternates (${news.connection.alternates.map((a) => a.name).join(", ")}): a failover would put the volume on another node. Fix: pass the node's own connection without alternates`,
        });
    }
    return failures;
}

interface ContainerView {
    Id: string;
    Names?: string[];
    State: string;
    Labels?: Record<string, string>;
}

const describeContainer = (c: ContainerView) => {
    const service = c.Labels?.["com.docker.swarm.service.name"];
    return `${(c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, "")} (${c.State}${service ? `, service ${service}` : ""})`;
};

async function users(docker: Docker, name: string): Promise<ContainerView[]> {
    return (await docker.listContainers({ all: true, filters: { volume: [name] } })) as ContainerView[];
}

async function hostnameOf(docker: Docker): Promise<string> {
    return (await docker.info()).Name as string;
}

async function inspect(docker: Docker, name: string): Promise<VolumeView | undefined> {
    try {
        return (await docker.getVolume(name).inspect()) as VolumeView;
    } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
    }
}

const provider: pulumi.dynamic.ResourceProvider<VolumeInputs, VolumeOutputs> = {
    async check(_olds, news) {
        return { inputs: { ...news, driver: news.driver ?? "local" }, failures: volumeCheckFailures(news) };
    },

    async create(inputs) {
        const outs = await withSession(toTarget(inputs), async (s) => {
            const docker = s.docker();
            const hostname = await hostnameOf(docker);
            const existing = await inspect(docker, inputs.name);
            if (existing) {
                // Docker would hand back the existing volume; its data is not ours to delete later.
                throw new Error(
                    `volume ${inputs.name} already exists on ${hostname} (driver ${existing.Driver}) and was not created by this stack. ` +
                        `Fix: choose another name, or remove it by hand (\`docker volume rm ${inputs.name}\` on ${hostname}) if its data is not needed.`,
                );
            }
            let created: VolumeView;
            try {
                created = (await docker.createVolume({
                    Name: inputs.name,
                    Driver: inputs.driver,
                    DriverOpts: inputs.driverOpts ?? {},
                    Labels: inputs.labels ?? {},
                })) as unknown as VolumeView;
            } catch (err) {
                throw new Error(`creating volume ${inputs.name} on ${hostname} failed: ${daemonMessage(err)}`);
            }
            return { ...inputs, hostname, constraint: `node.hostname==${hostname}`, mountpoint: created.Mountpoint };
        });
        return { id: inputs.name, outs: plain(outs) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:Volume");
        return withSession(toTarget(props), async (s) => {
            const docker = s.docker();
            const live = await inspect(docker, props.name);
            if (!live) return { id: "", props: {} as VolumeOutputs };
            const hostname = await hostnameOf(docker);
            const outs: VolumeOutputs = { ...props, hostname, constraint: `node.hostname==${hostname}`, mountpoint: live.Mountpoint };
            delete outs.driverOpts;
            delete outs.labels;
            return { id, props: plain({ ...outs, ...volumeFieldsFromLive(live) }) };
        });
    },

    async diff(_id, olds, news) {
        return volumeDiff(olds, news);
    },

    async update(_id, olds, news) {
        // Only the connection details (key, bastion) or forceRemove changed: nothing to do on the node.
        return { outs: plain({ ...news, hostname: olds.hostname, constraint: olds.constraint, mountpoint: olds.mountpoint }) };
    },

    async delete(_id, props) {
        await withSession(toTarget(props), async (s) => {
            const docker = s.docker();
            const hostname = await hostnameOf(docker);
            const deadline = Date.now() + 90_000; // a stopping task has its grace period (Patroni 60 s)
            for (;;) {
                try {
                    await docker.getVolume(props.name).remove();
                    return;
                } catch (err) {
                    if (statusCode(err) === 404) return;
                    if (statusCode(err) !== 409) throw new Error(`removing volume ${props.name} on ${hostname} failed: ${daemonMessage(err)}`);
                    const using = await users(docker, props.name);
                    if (props.forceRemove) {
                        for (const c of using) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
                    } else {
                        // Exited containers of Swarm tasks are history (a finished job's, a replaced
                        // task's) that the node does not always clean up once their service is gone.
                        for (const c of using.filter((u) => u.Labels?.["com.docker.swarm.task.id"] && ["exited", "dead"].includes(u.State))) {
                            await docker.getContainer(c.Id).remove().catch(() => undefined);
                        }
                    }
                    // A running container that is no Swarm task is in use for real; a task's may be one
                    // Swarm is still stopping (its service was just removed, within its grace period).
                    const inUse = using.some((c) => c.State === "running" && !c.Labels?.["com.docker.swarm.task.id"]);
                    if ((!props.forceRemove && inUse) || Date.now() > deadline) {
                        throw new Error(
                            `volume ${props.name} on ${hostname} is still in use, by ${using.map(describeContainer).join(", ") || "unknown containers"}; ` +
                                `the daemon said: ${daemonMessage(err)}. ` +
                                `Fix: remove the service or containers that use it first, or set forceRemove: true to remove them with the volume.`,
                        );
                    }
                    // Only stopped containers or task containers (of a service just removed, that Swarm is still cleaning up), or none left: retry.
                    await sleep(1000);
                }
            }
        });
    },
};

export interface VolumeArgs {
    /** The node the volume lives on (its own SSH endpoint, through the bastion), not a manager. */
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    /** Name of the volume on the node. */
    name: pulumi.Input<string>;
    /** @default - "local" */
    driver?: pulumi.Input<string>;
    /** Driver options (`docker volume create -o`), e.g. `{ type: "nfs", o: "addr=…", device: ":/export" }`. @default - none */
    driverOpts?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** @default - none */
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** On delete, also remove the containers that still use the volume. @default - false: delete fails and names them */
    forceRemove?: pulumi.Input<boolean>;
}

/** A volume on one node. Any change replaces it, and a new volume starts empty: consider `protect: true`. */
export class Volume extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    declare public readonly hostname: pulumi.Output<string>;
    /** `node.hostname==<hostname>`, for the constraints of the services that use the volume. */
    declare public readonly constraint: pulumi.Output<string>;
    declare public readonly mountpoint: pulumi.Output<string>;

    constructor(name: string, args: VolumeArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, driver: args.driver ?? "local", providerVersion: PROVIDER_VERSION, hostname: undefined, constraint: undefined, mountpoint: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "Volume");
    }
}
