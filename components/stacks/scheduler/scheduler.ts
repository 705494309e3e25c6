// Scheduler: cron for the swarm. Swarm runs jobs (replicated-job services) but has no schedule; this
// runs one small service on a manager (swarm-etl-scheduler, images/scheduler) that starts a Swarm
// job from each *template* when its cron expression is due. A template is an ordinary Service with
// 0 replicas and the labels `scheduledJobLabels()` makes, so Pulumi owns what runs (image, command,
// mounts, secrets, placement) and the scheduler only owns when. The scheduler needs its manager's
// Docker API (the socket, mounted; never TCP) to create services: it has no network and no port.
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, RUN_OF_LABEL, Service } from "../../../providers/swarm";
import { controlLabels } from "../../placement";

/** Runs carry `swarm-etl.run-of=<template>`; deleting a template deletes its runs (the Service provider). */
export { RUN_OF_LABEL };

export * from "./labels";
export const DOCKER_SOCKET = "/var/run/docker.sock";

export interface SchedulerArgs {
    /** A manager of the swarm (through the bastion). */
    readonly connection: HostConnection;
    readonly privateKey: pulumi.Input<string>;
    /** The scheduler image (components/stacks/scheduler/images/scheduler). */
    readonly image: pulumi.Input<string>;
    /** Seconds between two looks at the templates. @default - 10 */
    readonly tickSeconds?: number;
}

export class Scheduler extends pulumi.ComponentResource {
    public readonly service: Service;
    /** The service's name, for `docker exec` (run now) and its logs. */
    public readonly serviceName: string;

    constructor(name: string, args: SchedulerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Scheduler", name, {}, opts);
        const tick = args.tickSeconds ?? 10;
        if (!Number.isInteger(tick) || tick < 1 || tick > 60) throw new Error(`Scheduler ${name}: tickSeconds must be a whole number from 1 to 60, got ${tick}`);
        this.serviceName = name;
        this.service = new Service(
            name,
            {
                connection: args.connection,
                privateKey: pulumi.secret(args.privateKey),
                name,
                image: args.image,
                replicas: 1,
                env: { SCHEDULER_TICK_SECONDS: String(tick) },
                // Only a manager can create services; one scheduler, or runs would start twice.
                constraints: ["node.role==manager"],
                mounts: [{ type: "bind", source: DOCKER_SOCKET, target: DOCKER_SOCKET }],
                healthcheck: { test: ["CMD", "swarm-etl-scheduler", "list"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "10s" },
                restartPolicy: { condition: "any", delay: "5s" },
                resources: { limits: { cpus: 0.25, memory: "64M" } },
                stopGracePeriod: "5s",
                // One at a time: a start-first update would run two schedulers for a moment.
                updateConfig: { parallelism: 1, order: "stop-first" },
                labels: { "swarm-etl.stack": name, ...controlLabels, "swarm-etl.role": "scheduler", "swarm-etl.stateful": "false", "swarm-etl.docker-api": "manager", "swarm-etl.singleton": "true" },
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.registerOutputs({ serviceName: this.serviceName });
    }
}
