// swarm:Service — a replicated Swarm service. create/update wait until every task runs; a failure
// names the task, the node and the daemon's own error text. read() returns the live spec,
// normalized, so `pulumi refresh` shows a change made by hand (e.g. `docker service scale`).
import * as pulumi from "@pulumi/pulumi";
import type Docker = require("dockerode");
import { withSession } from "../ssh/connection";
import { changedKeys, ConnectionInputs, daemonMessage, HostConnection, PROVIDER_VERSION, sleep, statusCode, toTarget , knownProps, plain } from "./common";
import {
    DockerServiceSpec,
    fieldsFromSpec,
    PortSpec,
    renderServiceSpec,
    SERVICE_REPLACE_FIELDS,
    SERVICE_UPDATE_FIELDS,
    ServiceFields,
    withDefaults,
} from "./serviceSpec";

export interface ServiceInputs extends ConnectionInputs, ServiceFields {
    /** How long create/update wait for every task to run. @default - 300 */
    convergeTimeoutSeconds?: number;
    providerVersion: string;
}

export interface ServiceOutputs extends ServiceInputs {
    serviceId: string;
}

interface TaskView {
    ID: string;
    NodeID?: string;
    DesiredState: string;
    CreatedAt: string;
    Status: { State: string; Err?: string; Message?: string };
}

/** Waits until `replicas` tasks run; throws naming the failing task, its node and the daemon's error. */
export async function waitConverged(docker: Docker, serviceId: string, name: string, replicas: number, since: Date, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const hostnames = new Map<string, string>();
    const nodeName = async (id?: string) => {
        if (!id) return "(not scheduled)";
        if (!hostnames.has(id)) {
            try {
                hostnames.set(id, (await docker.getNode(id).inspect()).Description?.Hostname ?? id);
            } catch {
                hostnames.set(id, id);
            }
        }
        return hostnames.get(id)!;
    };
    for (;;) {
        const svc = await docker.getService(serviceId).inspect();
        const update = svc.UpdateStatus?.State as string | undefined;
        if (update === "rollback_completed" || update === "paused" || update === "rollback_paused") {
            throw new Error(`service ${name}: the update was ${update.replace("_", " ")} by Swarm: ${svc.UpdateStatus?.Message ?? ""}`);
        }
        const tasks = (await docker.listTasks({ filters: { service: [serviceId] } })) as TaskView[];
        const current = tasks.filter((t) => t.DesiredState === "running");
        const running = current.filter((t) => t.Status.State === "running").length;
        const failed = tasks.filter((t) => ["failed", "rejected"].includes(t.Status.State) && new Date(t.CreatedAt) >= since);
        const updating = update === "updating" || update === "rollback_started";
        if (running === replicas && current.length === replicas && !updating) return;
        if (failed.length >= 3 || Date.now() > deadline) {
            const details = await Promise.all(
                failed.slice(-3).map(async (t) => `task ${t.ID.slice(0, 12)} on ${await nodeName(t.NodeID)}: ${t.Status.State}: ${t.Status.Err ?? t.Status.Message}`),
            );
            const why = details.length ? details.join("; ") : `${running}/${replicas} tasks running after ${Math.round(timeoutMs / 1000)} s`;
            throw new Error(`service ${name} did not converge: ${why}`);
        }
        await sleep(1000);
    }
}

function fields(p: ServiceInputs): ServiceFields {
    const { name, image, replicas, command, args, env, labels, networks, endpointMode, ports, constraints } = p;
    return withDefaults({ name, image, replicas, command, args, env, labels, networks, endpointMode, ports, constraints });
}

async function readLive(p: ServiceInputs, id: string): Promise<ServiceFields | undefined> {
    return withSession(toTarget(p), async (s) => {
        try {
            const svc = await s.docker().getService(id).inspect();
            return fieldsFromSpec(svc.Spec as DockerServiceSpec, p);
        } catch (err) {
            if (statusCode(err) === 404) return undefined;
            throw err;
        }
    });
}

const provider: pulumi.dynamic.ResourceProvider<ServiceInputs, ServiceOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!Number.isInteger(news.replicas) || news.replicas < 0) {
            failures.push({ property: "replicas", reason: `replicas must be a whole number ≥ 0, got ${news.replicas}` });
        }
        if (!news.image || /\s/.test(news.image)) failures.push({ property: "image", reason: `"${news.image}" is not an image reference` });
        return { inputs: news, failures };
    },

    async create(inputs) {
        const since = new Date(Date.now() - 1000);
        const id = await withSession(toTarget(inputs), async (s) => {
            const docker = s.docker();
            let created: { id?: string; ID?: string };
            try {
                created = await docker.createService(renderServiceSpec(fields(inputs)) as unknown as Docker.CreateServiceOptions);
            } catch (err) {
                throw new Error(`creating service ${inputs.name} failed: ${daemonMessage(err)}`);
            }
            const serviceId = (created.id ?? created.ID)!;
            try {
                await waitConverged(docker, serviceId, inputs.name, inputs.replicas, since, (inputs.convergeTimeoutSeconds ?? 300) * 1000);
            } catch (err) {
                // Nothing half-made stays behind: the error is kept and the service removed.
                await docker.getService(serviceId).remove().catch(() => undefined);
                throw err;
            }
            return serviceId;
        });
        return { id, outs: plain({ ...inputs, ...fields(inputs), serviceId: id }) };
    },

    async read(id, maybeProps) {
        const props = knownProps(maybeProps, "swarm:Service");
        const live = await readLive(props, id);
        if (!live) return { id: "", props: {} as ServiceOutputs };
        const outs: ServiceOutputs = { ...props, serviceId: id };
        for (const k of SERVICE_UPDATE_FIELDS) delete (outs as Partial<ServiceOutputs>)[k];
        return { id, props: plain({ ...outs, ...live }) };
    },

    async diff(_id, olds, news) {
        const o = fields(olds);
        const n = fields(news);
        const replaces = changedKeys(o, n, SERVICE_REPLACE_FIELDS);
        const updates = changedKeys(o, n, SERVICE_UPDATE_FIELDS);
        const conn = changedKeys(olds, news, ["connection", "convergeTimeoutSeconds", "providerVersion"]);
        return {
            changes: replaces.length + updates.length + conn.length > 0,
            replaces: replaces as string[],
            detailedDiff: Object.fromEntries([...replaces, ...updates].map((k) => [k, { kind: replaces.includes(k) ? "update-replace" : "update", inputDiff: true }])),
            deleteBeforeReplace: true,
        };
    },

    async update(id, olds, news) {
        const since = new Date(Date.now() - 1000);
        const changed = changedKeys(fields(olds), fields(news), SERVICE_UPDATE_FIELDS);
        if (changed.length > 0) {
            await withSession(toTarget(news), async (s) => {
                const docker = s.docker();
                const svc = docker.getService(id);
                const live = await svc.inspect();
                const spec = renderServiceSpec(fields(news));
                try {
                    await svc.update({ _query: { version: live.Version.Index }, _body: spec });
                } catch (err) {
                    throw new Error(`updating service ${news.name} failed: ${daemonMessage(err)}`);
                }
                await waitConverged(docker, id, news.name, news.replicas, since, (news.convergeTimeoutSeconds ?? 300) * 1000);
            });
        }
        return { outs: plain({ ...news, ...fields(news), serviceId: id }) };
    },

    async delete(id, props) {
        await withSession(toTarget(props), async (s) => {
            const docker = s.docker();
            try {
                await docker.getService(id).remove();
            } catch (err) {
                if (statusCode(err) !== 404) throw new Error(`removing service ${props.name} failed: ${daemonMessage(err)}`);
                return;
            }
            // Wait for the tasks to stop, so networks the service used can be removed next.
            const deadline = Date.now() + 60_000;
            while (Date.now() < deadline) {
                const tasks = (await docker.listTasks({ filters: { service: [id] } }).catch(() => [])) as TaskView[];
                if (tasks.length === 0) return;
                await sleep(500);
            }
        });
    },
};

export interface ServiceArgs {
    connection: pulumi.Input<HostConnection>;
    privateKey: pulumi.Input<string>;
    name: pulumi.Input<string>;
    image: pulumi.Input<string>;
    replicas: pulumi.Input<number>;
    command?: pulumi.Input<pulumi.Input<string>[]>;
    args?: pulumi.Input<pulumi.Input<string>[]>;
    env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    networks?: pulumi.Input<pulumi.Input<string>[]>;
    endpointMode?: pulumi.Input<"vip" | "dnsrr">;
    ports?: pulumi.Input<pulumi.Input<PortSpec>[]>;
    constraints?: pulumi.Input<pulumi.Input<string>[]>;
    convergeTimeoutSeconds?: pulumi.Input<number>;
}

/** A replicated Swarm service managed over SSH. */
export class Service extends pulumi.dynamic.Resource {
    declare public readonly serviceId: pulumi.Output<string>;
    declare public readonly replicas: pulumi.Output<number>;
    declare public readonly image: pulumi.Output<string>;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, providerVersion: PROVIDER_VERSION, serviceId: undefined };
        super(provider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }), "swarm", "Service");
    }
}
