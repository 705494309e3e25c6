// swarm:Service — a Swarm service in any mode (replicated, global, replicated-job, global-job).
// create/update wait until it converged (serviceConverge.ts); a failure names the task, the node
// and the daemon's own error text. A create that never converges removes the service again (no
// half-made state is left); an update that fails is rolled back by Swarm (UpdateConfig.FailureAction
// "rollback" by default) and reported as such. diff() updates in place except for the name and the
// mode, which Swarm cannot change. read() returns the live spec, normalized (serviceRead.ts): a
// field changed by hand takes its live value, an unchanged one keeps the form it was asked in, and
// read() hands those back as the inputs too, so `pulumi preview --refresh` lists exactly the drift.
//
// Progress: the dynamic provider's process has no engine connection of its own, so pulumi.log.info
// falls back to its stdout, which the engine shows live as info diagnostics of the stack
// ("info: [runtime] service web: 2/3 tasks running (updating: update in progress)").
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, knownProps, plain, PROVIDER_VERSION, statusCode, toTarget } from "./common";
import { validateService } from "./serviceCheck";
import { TaskView, waitConverged, waitTasksGone, WithDocker } from "./serviceConverge";
import {
    DockerServiceSpec,
    EndpointMode,
    fieldsFromSpec,
    Healthcheck,
    MountSpec,
    PortSpec,
    renderServiceSpec,
    RestartPolicy,
    pickServiceFields,
    diffServiceFields,
    SERVICE_FIELDS,
    ServiceFields,
    ServiceMode,
    UpdatePolicy,
} from "./serviceSpec";
import type { ByteSize, Duration } from "./serviceUnits";

export interface ServiceInputs extends ConnectionInputs, ServiceFields {
    /** How long create/update wait for the service to converge. @default - 300 */
    convergeTimeoutSeconds?: number;
    providerVersion: string;
}

export interface ServiceOutputs extends ServiceInputs {
    serviceId: string;
}

const fields = (p: Partial<ServiceInputs>): ServiceFields => pickServiceFields(p);
const timeoutMs = (p: ServiceInputs) => (p.convergeTimeoutSeconds ?? 300) * 1000;
const progress = (msg: string) => void pulumi.log.info(msg);
/** Each call on its own (pooled) session, so a long wait survives a dropped connection. */
const dockerOf = (p: ServiceInputs): WithDocker => (fn) => withSession(toTarget(p), (s) => fn(s.docker()));

/** Live network IDs → names, so networks asked for by name read back as those names. */
async function networkNames(docker: Docker): Promise<Record<string, string>> {
    const nets = await docker.listNetworks();
    return Object.fromEntries(nets.map((n) => [n.Id, n.Name]));
}

async function readLive(p: ServiceInputs, id: string): Promise<ServiceFields | undefined> {
    return dockerOf(p)(async (docker) => {
        let svc: { Spec: DockerServiceSpec };
        try {
            svc = (await docker.getService(id).inspect()) as { Spec: DockerServiceSpec };
        } catch (err) {
            if (statusCode(err) === 404) return undefined;
            throw new Error(`reading service ${p.name} (${id}) failed: ${daemonMessage(err)}`);
        }
        const names = svc.Spec.TaskTemplate.Networks?.length ? await networkNames(docker) : {};
        return fieldsFromSpec(svc.Spec, fields(p), names);
    });
}

/**
 * The live fields in the form they were asked for: a field whose live value equals the asked one
 * (once both are normalized) keeps the asked form, a field changed by hand takes the live value.
 * So a refresh changes only what drifted, and preview lists exactly those properties.
 */
export function liveAsAsked(asked: Partial<ServiceFields>, live: ServiceFields): Partial<ServiceFields> {
    const drifted = new Set(changedKeys(pickServiceFields(asked), live, SERVICE_FIELDS));
    return Object.fromEntries(SERVICE_FIELDS.map((k) => [k, drifted.has(k) ? live[k] : asked[k]]));
}

/** The label the scheduler (components/stacks/scheduler) puts on the job runs it makes from a template. */
export const RUN_OF_LABEL = "swarm-etl.run-of";

async function removeService(p: ServiceInputs, id: string): Promise<void> {
    // The job runs a scheduler made from this service (a template) use its networks, secrets and
    // configs: they go with it, or those could not be removed after it.
    const runs = await dockerOf(p)(async (d) => {
        const found = (await d.listServices({ filters: { label: [`${RUN_OF_LABEL}=${p.name}`] } })) as { ID: string }[];
        await Promise.all(
            found.map((run) =>
                d.getService(run.ID).remove().catch((err: unknown) => {
                    if (statusCode(err) !== 404) throw new Error(`removing service ${p.name}'s job run ${run.ID} failed: ${daemonMessage(err)}`);
                }),
            ),
        );
        return found;
    });
    await Promise.all(runs.map((run) => waitTasksGone(dockerOf(p), run.ID)));
    try {
        await dockerOf(p)((d) => d.getService(id).remove());
    } catch (err) {
        if (statusCode(err) === 404) return;
        throw new Error(`removing service ${p.name} failed: ${daemonMessage(err)}`);
    }
    // Wait for the tasks to stop, so networks, secrets and configs the service used can be removed next.
    await waitTasksGone(dockerOf(p), id);
}

const provider: pulumi.dynamic.ResourceProvider<ServiceInputs, ServiceOutputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: validateService(news) };
    },

    async create(inputs) {
        let created: { id?: string; ID?: string };
        try {
            created = await dockerOf(inputs)((d) => d.createService(renderServiceSpec(fields(inputs)) as unknown as Docker.CreateServiceOptions));
        } catch (err) {
            throw new Error(`creating service ${inputs.name} failed: ${daemonMessage(err)}`);
        }
        const id = (created.id ?? created.ID)!;
        try {
            await waitConverged(dockerOf(inputs), { serviceId: id, name: inputs.name, timeoutMs: timeoutMs(inputs), log: progress });
        } catch (err) {
            // Nothing half-made stays behind: the service is removed, the daemon's error kept.
            const removed = await removeService(inputs, id).then(
                () => "the service was removed again",
                (e) => `${(e as Error).message}: remove it by hand with \`docker service rm ${inputs.name}\``,
            );
            throw new Error(`${(err as Error).message} (${removed})`);
        }
        return { id, outs: plain({ ...inputs, serviceId: id }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:Service");
        const live = await readLive(props, id);
        if (!live) return { id: "", props: {} as ServiceOutputs };
        const inputs = { ...props, ...liveAsAsked(props, live) } as Partial<ServiceOutputs>;
        delete inputs.serviceId;
        return { id, props: plain({ ...inputs, serviceId: id }) as ServiceOutputs, inputs: plain(inputs) as ServiceOutputs };
    },

    async diff(_id, olds, news) {
        const { replaces, updates } = diffServiceFields(olds, news);
        const other = changedKeys(olds, news, ["connection", "convergeTimeoutSeconds", "providerVersion"]);
        return {
            changes: replaces.length + updates.length + other.length > 0,
            replaces: replaces as string[],
            // The name stays: the old service must go before the new one can take it.
            deleteBeforeReplace: true,
        };
    },

    async update(id, olds, news) {
        const changed = diffServiceFields(olds, news).updates;
        if (changed.length === 0) return { outs: plain({ ...news, serviceId: id }) };
        const known = await dockerOf(news)(async (docker) => {
            const svc = docker.getService(id);
            let live: { Version: { Index: number }; Spec: DockerServiceSpec };
            try {
                live = (await svc.inspect()) as typeof live;
            } catch (err) {
                const gone = statusCode(err) === 404 ? "; it was removed by hand: `pulumi up --refresh` creates it again" : "";
                throw new Error(`updating service ${news.name} failed: ${daemonMessage(err)}${gone}`);
            }
            const tasks = (await docker.listTasks({ filters: { service: [id] } })) as TaskView[];
            const spec = renderServiceSpec(fields(news));
            // Keep a `docker service update --force` counter: sending it back lower would restart every task.
            spec.TaskTemplate.ForceUpdate = live.Spec.TaskTemplate.ForceUpdate ?? 0;
            try {
                await svc.update({ _query: { version: live.Version.Index }, _body: spec });
            } catch (err) {
                throw new Error(`updating service ${news.name} failed: ${daemonMessage(err)}`);
            }
            return new Set(tasks.map((t) => t.ID));
        });
        progress(`service ${news.name}: updating ${changed.join(", ")}`);
        await waitConverged(dockerOf(news), { serviceId: id, name: news.name, timeoutMs: timeoutMs(news), knownTaskIds: known, log: progress });
        return { outs: plain({ ...news, serviceId: id }) };
    },

    async delete(id, props) {
        await removeService(props, id);
    },
};

type In<T> = pulumi.Input<T>;
type FileRefArgs = { target: In<string>; uid?: In<string>; gid?: In<string>; mode?: In<number> };
/** A Swarm secret mounted as a file: `secretId`/`secretName` from a swarm Secret. */
export type ServiceSecretRef = FileRefArgs & { secretId: In<string>; secretName: In<string> };
/** A Swarm config mounted as a file: `configId`/`configName` from a swarm Config. */
export type ServiceConfigRef = FileRefArgs & { configId: In<string>; configName: In<string> };

/** A network to attach to, by ID or name, with extra DNS names on it. */
export type NetworkAttachmentArgs = { target: In<string>; aliases?: In<In<string>[]> };

export interface ServiceArgs {
    /** A manager of the swarm (through the bastion), with the other managers as alternates. */
    connection: In<HostConnection>;
    /** The SSH private key (a secret; stored encrypted). */
    privateKey: In<string>;
    /** The service's name in the swarm; a change replaces the service. */
    name: In<string>;
    /** Image reference; Swarm pins its digest, which reads back as the reference asked for. */
    image: In<string>;
    /** A change replaces the service (Swarm cannot change a mode). @default - replicated */
    mode?: In<ServiceMode>;
    /** Tasks (replicated) or completions (replicated-job); not for global modes. @default - 1 */
    replicas?: In<number>;
    /** replicated-job: tasks run at once. @default - replicas */
    maxConcurrent?: In<number>;
    /** Replaces the image's ENTRYPOINT. @default - the image's */
    command?: In<In<string>[]>;
    /** Replaces the image's CMD. @default - the image's */
    args?: In<In<string>[]>;
    /** Environment variables, added to the image's. */
    env?: In<Record<string, In<string>>>;
    /** @default - the image's user */
    user?: In<string>;
    /** @default - the image's working directory */
    workdir?: In<string>;
    /** Secrets mounted as files. */
    secrets?: In<In<ServiceSecretRef>[]>;
    /** Configs mounted as files. */
    configs?: In<In<ServiceConfigRef>[]>;
    /** Volumes (named, or anonymous without source), bind mounts of node paths, tmpfs. */
    mounts?: In<In<MountSpec>[]>;
    /** Network IDs or names, or `{ target, aliases }`; changing them updates the service in place. */
    networks?: In<In<string | NetworkAttachmentArgs>[]>;
    /** Placement constraints, e.g. "node.role==worker". */
    constraints?: In<In<string>[]>;
    /** Spread descriptors, e.g. "node.labels.zone". */
    preferences?: In<In<string>[]>;
    /** @default - no limit */
    maxReplicasPerNode?: In<number>;
    /** CPUs and memory ("64M" or bytes) the tasks may use (limits) and are guaranteed (reservations). @default - no limits */
    resources?: In<{ limits?: In<{ cpus?: In<number>; memory?: In<ByteSize> }>; reservations?: In<{ cpus?: In<number>; memory?: In<ByteSize> }> }>;
    /** @default - condition any (on-failure for jobs), delay 5s */
    restartPolicy?: In<RestartPolicy>;
    /** @default - parallelism 1, failureAction rollback, monitor 5s, order stop-first (not for jobs) */
    updateConfig?: In<UpdatePolicy>;
    /** @default - parallelism 1, failureAction pause, monitor 5s, order stop-first (not for jobs) */
    rollbackConfig?: In<UpdatePolicy>;
    /** @default - the image's healthcheck */
    healthcheck?: In<Healthcheck>;
    /** vip needs IPVS on the nodes. @default - vip */
    endpointMode?: In<EndpointMode>;
    /** Published ports: ingress (the routing mesh, needs vip) or host mode. */
    ports?: In<In<PortSpec>[]>;
    /** Labels of the service. */
    labels?: In<Record<string, In<string>>>;
    /** @default - the daemon's log driver */
    logDriver?: In<{ name: In<string>; options?: In<Record<string, In<string>>> }>;
    /** @default - the daemon's (10s) */
    stopGracePeriod?: In<Duration>;
    /** resolv.conf options of the tasks, e.g. ["timeout:1", "attempts:1"]. @default - none */
    dnsOptions?: In<string[]>;
    /** Linux capabilities added to the tasks' default set ("NET_ADMIN" or "CAP_NET_ADMIN"). @default - none */
    capAdd?: In<In<string>[]>;
    /** Namespaced kernel parameters of the tasks, e.g. { "net.ipv4.ip_forward": "1" }. @default - none */
    sysctls?: In<Record<string, In<string>>>;
    /** How long create/update wait for the service to converge. @default - 300 */
    convergeTimeoutSeconds?: In<number>;
}

/** A Swarm service managed over SSH. */
export class Service extends pulumi.dynamic.Resource {
    declare public readonly serviceId: pulumi.Output<string>;
    declare public readonly replicas: pulumi.Output<number | undefined>;
    declare public readonly image: pulumi.Output<string>;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { replicas: undefined, ...args, providerVersion: PROVIDER_VERSION, serviceId: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "Service");
    }
}
