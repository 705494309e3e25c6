// swarm:Service against the lab, through the real engine: create (every field), read (refresh is a
// no-op), update in place (image, env, replicas, networks), replace (a mode change), a global
// service, jobs that complete, drift made with the docker CLI shown by preview --refresh and
// repaired by up, and the two failure paths (an image that does not exist; an update that never
// becomes healthy, rolled back by Swarm). Every Swarm object here is named svc-*.
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { closeAllSessions, withSession } from "../../providers/ssh/connection";
import { canonical, Network, Service, ServiceArgs } from "../../providers/swarm";
import { ensureSwarm, inlineStack, log, managerConnection, requiredEnv, secretKey } from "./harness";
import { labConfig, privateKey, targets } from "./labConfig";

const cfg = labConfig();
const hosts = targets(cfg);
const mgr1 = hosts.get(cfg.managers[0].name)!;
const IMAGE = "198.18.20.2:5000/lab/busybox:1.35";
const NODES = cfg.managers.length + cfg.workers.length;

async function sh(command: string, host = mgr1): Promise<string> {
    const r = await withSession(host, (s) => s.exec(command));
    if (r.code !== 0) throw new Error(`\`${command}\` on ${host.name} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
}

interface Live {
    ID: string;
    Spec: {
        Labels: Record<string, string>;
        Mode: Record<string, { Replicas?: number }>;
        TaskTemplate: { ContainerSpec: { Image: string; Env?: string[]; Healthcheck?: { Test: string[] } }; Networks?: { Target: string; Aliases?: string[] }[] };
        UpdateConfig?: { FailureAction: string };
    };
}
async function inspect(name: string): Promise<Live | undefined> {
    const r = await withSession(mgr1, (s) => s.exec(`docker service inspect ${name}`));
    return r.code === 0 ? (JSON.parse(r.stdout) as Live[])[0] : undefined;
}
/** Tasks of a service as `state node` lines, sorted. */
async function taskStates(name: string, desired = "running"): Promise<string[]> {
    const out = await sh(`docker service ps ${name} --filter desired-state=${desired} --format '{{.CurrentState}} {{.Node}}'`);
    return out.split("\n").filter(Boolean).map((l) => `${l.split(" ")[0]} ${l.split(" ").pop()}`).sort();
}
/** Runs `command` in a running container of the service, on its node. */
async function execInTask(service: string, command: string): Promise<string> {
    const [task] = (await sh(`docker service ps ${service} --no-trunc --filter desired-state=running --format '{{.ID}} {{.Node}}'`)).split("\n");
    const [taskId, node] = task.split(" ");
    const host = hosts.get(node);
    if (!host) throw new Error(`task ${taskId} runs on ${node}, which the lab config does not list`);
    return sh(`docker exec $(docker ps -q -f label=com.docker.swarm.task.id=${taskId}) ${command}`, host);
}
/**
 * The properties a preview's step for `name` changes, as the CLI shows them ("[diff: ~env ~image]"):
 * the step's old inputs (after the refresh, when there is one) against the program's new ones.
 */
function diffsOf(events: EngineEvent[], name: string): string[] {
    const step = events.filter((e) => e.resourcePreEvent?.metadata.urn.endsWith(`::${name}`) && e.resourcePreEvent.metadata.op !== "refresh").pop();
    const meta = step?.resourcePreEvent?.metadata;
    if (!meta?.old || !meta.new) throw new Error(`the preview has no update step for ${name}: ${JSON.stringify(meta?.op)}`);
    const [o, n] = [meta.old.inputs, meta.new.inputs];
    const keys = new Set([...Object.keys(o), ...Object.keys(n)].filter((k) => !k.startsWith("__")));
    return [...keys].filter((k) => JSON.stringify(canonical(o[k])) !== JSON.stringify(canonical(n[k]))).sort();
}

const stacks: Stack[] = [];
async function newStack(name: string, program: () => Promise<Record<string, unknown> | void>): Promise<Stack> {
    const s = await inlineStack(name, program);
    stacks.push(s);
    return s;
}
const base = () => ({ connection: managerConnection(), privateKey: secretKey() });

let secret = { id: "", name: "svc-lab-token" };
let config = { id: "", name: "svc-lab-conf" };

beforeAll(async () => {
    await ensureSwarm();
    await sh(`docker service rm svc-web svc-job-once svc-job-all svc-nope svc-hc 2>/dev/null; docker secret rm ${secret.name} 2>/dev/null; docker config rm ${config.name} 2>/dev/null; docker network rm svc-jobs-net 2>/dev/null; true`);
    secret = { ...secret, id: await sh(`printf s3cret | docker secret create ${secret.name} -`) };
    config = { ...config, id: await sh(`printf 'listen=8080' | docker config create ${config.name} -`) };
    await sh("docker network create -d overlay --attachable svc-jobs-net");
});

afterAll(async () => {
    for (const s of stacks) {
        await s.destroy({ onOutput: log("destroy") });
        await s.workspace.removeStack(s.name);
    }
    await sh(`sleep 2; docker secret rm ${secret.name}; docker config rm ${config.name}; docker network rm svc-jobs-net`);
    expect(await sh("docker service ls --filter name=svc- -q")).toBe("");
    await closeAllSessions();
});

describe("swarm:Service lifecycle", () => {
    let stack: Stack;
    let web: Partial<ServiceArgs> = {};
    let useNet: "a" | "b" = "a";

    beforeAll(async () => {
        stack = await newStack("svc-lifecycle", async () => {
            const netA = new Network("svc-net-a", { ...base(), name: "svc-net-a", encrypted: false });
            const netB = new Network("svc-net-b", { ...base(), name: "svc-net-b", encrypted: false });
            const net = useNet === "a" ? netA : netB;
            const svc = new Service("svc-web", {
                ...base(),
                name: "svc-web",
                image: IMAGE,
                replicas: 2,
                command: ["httpd", "-f", "-p", "8080", "-h", "/etc"],
                env: { A: "1" },
                workdir: "/tmp",
                networks: [{ target: net.networkId, aliases: [`web-${useNet}`] }],
                endpointMode: "dnsrr",
                ports: [{ target: 8080, published: 18181, mode: "host" }],
                maxReplicasPerNode: 1,
                secrets: [{ secretId: secret.id, secretName: secret.name, target: "token", mode: 0o400 }],
                configs: [{ configId: config.id, configName: config.name, target: "/etc/svc.conf" }],
                mounts: [{ type: "tmpfs", target: "/scratch", tmpfs: { size: "8M" } }],
                healthcheck: { test: "wget -q -O /dev/null http://127.0.0.1:8080/hostname", interval: "1s", timeout: "1s", retries: 3 },
                resources: { limits: { memory: "64M", cpus: 0.5 } },
                restartPolicy: { condition: "any", delay: "1s" },
                updateConfig: { monitor: "2s" },
                labels: { "svc-test": "lifecycle" },
                logDriver: { name: "json-file", options: { "max-size": "1m" } },
                stopGracePeriod: "2s",
                ...web,
            });
            return { serviceId: svc.serviceId };
        });
    });

    test("create: waits until every task runs and is healthy, with progress in the engine's log", async () => {
        const up = await stack.up({ onOutput: log("create") });
        expect(up.summary.resourceChanges).toEqual({ create: 4 });
        expect(up.stdout).toContain("service svc-web: 2/2 tasks running");
        const live = (await inspect("svc-web"))!;
        expect(live.ID).toBe(up.outputs.serviceId.value);
        expect(live.Spec.UpdateConfig!.FailureAction).toBe("rollback");
        expect(await taskStates("svc-web")).toEqual([expect.stringMatching(/^Running /), expect.stringMatching(/^Running /)]);
        // Secrets and configs arrive as files; the network alias resolves.
        expect(await execInTask("svc-web", "cat /run/secrets/token")).toBe("s3cret");
        expect(await execInTask("svc-web", "cat /etc/svc.conf")).toBe("listen=8080");
        expect(await execInTask("svc-web", "stat -c %a /run/secrets/token")).toBe("400");
        expect(await execInTask("svc-web", "nslookup web-a")).toMatch(/Address: \d+\.\d+\.\d+\.\d+/);
    });

    test("read: refresh reads the live spec back with no change, and preview --refresh shows nothing to do", async () => {
        const refresh = await stack.refresh({ onOutput: log("refresh") });
        expect(refresh.summary.resourceChanges).toEqual({ same: 4 });
        expect((await stack.preview({ refresh: true })).changeSummary).toEqual({ same: 4 });
        // read() hands the engine the inputs too: the key must stay encrypted in the checkpoint.
        const checkpoint = path.join(requiredEnv("PULUMI_BACKEND_URL").replace(/^file:\/\//, ""), ".pulumi/stacks/swarm-etl-tests/svc-lifecycle.json");
        const state = fs.readFileSync(checkpoint, "utf8");
        expect(state).toContain("svc-web");
        expect(state).not.toContain(privateKey(cfg).split("\n")[1]);
    });

    test("update in place: image tag, env, replicas and networks change without replacing the service", async () => {
        const before = (await inspect("svc-web"))!.ID;
        web = { image: "198.18.20.2:5000/lab/busybox:1.35.0", env: { A: "1", B: "2" }, replicas: 3 };
        useNet = "b";
        const events: EngineEvent[] = [];
        const preview = await stack.preview({ onEvent: (e) => events.push(e) });
        expect(preview.changeSummary).toEqual({ same: 3, update: 1 });
        expect(diffsOf(events, "svc-web")).toEqual(["env", "image", "networks", "replicas"]);

        const up = await stack.up({ onOutput: log("update") });
        expect(up.summary.resourceChanges).toEqual({ same: 3, update: 1 });
        const live = (await inspect("svc-web"))!;
        expect(live.ID).toBe(before);
        expect(live.Spec.TaskTemplate.ContainerSpec.Image).toBe("198.18.20.2:5000/lab/busybox:1.35.0");
        expect(live.Spec.TaskTemplate.ContainerSpec.Env).toEqual(["A=1", "B=2"]);
        expect(live.Spec.Mode.Replicated.Replicas).toBe(3);
        const netB = await sh("docker network inspect -f '{{.Id}}' svc-net-b");
        expect(live.Spec.TaskTemplate.Networks).toEqual([{ Target: netB, Aliases: ["web-b"] }]);
        expect(await taskStates("svc-web")).toHaveLength(3);
        expect((await stack.preview({ refresh: true })).changeSummary).toEqual({ same: 4 });
    });

    test("drift: scale, --env-add, --image and --label-add by hand are shown by preview --refresh and repaired by up", async () => {
        await sh("docker service scale --detach svc-web=1");
        await sh(`docker service update --detach --env-add C=3 --image ${IMAGE} --label-add hand=made svc-web`);

        const events: EngineEvent[] = [];
        const preview = await stack.preview({ refresh: true, onEvent: (e) => events.push(e) });
        expect(preview.changeSummary).toEqual({ same: 3, update: 1 });
        expect(diffsOf(events, "svc-web")).toEqual(["env", "image", "labels", "replicas"]);

        const up = await stack.up({ refresh: true, onOutput: log("repair") });
        expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
        const live = (await inspect("svc-web"))!;
        expect(live.Spec.Mode.Replicated.Replicas).toBe(3);
        expect(live.Spec.TaskTemplate.ContainerSpec.Env).toEqual(["A=1", "B=2"]);
        expect(live.Spec.TaskTemplate.ContainerSpec.Image).toBe("198.18.20.2:5000/lab/busybox:1.35.0");
        expect(live.Spec.Labels).toEqual({ "svc-test": "lifecycle" });
        expect((await stack.preview({ refresh: true })).changeSummary).toEqual({ same: 4 });
    });

    test("replace: a mode change (replicated -> global) makes a new service, with a task on every node", async () => {
        const before = (await inspect("svc-web"))!.ID;
        web = { ...web, mode: "global", replicas: undefined, maxReplicasPerNode: undefined };
        const up = await stack.up({ onOutput: log("replace") });
        expect(up.summary.resourceChanges).toEqual({ same: 3, replace: 1 });
        const live = (await inspect("svc-web"))!;
        expect(live.ID).not.toBe(before);
        expect(Object.keys(live.Spec.Mode)).toEqual(["Global"]);
        expect(await taskStates("svc-web")).toHaveLength(NODES);
        expect((await stack.preview({ refresh: true })).changeSummary).toEqual({ same: 4 });
    });

    test("delete: destroy removes the service, its tasks and its networks", async () => {
        await stack.destroy({ onOutput: log("delete") });
        expect(await inspect("svc-web")).toBeUndefined();
        // Swarm removes a network asynchronously: give it a few seconds.
        expect(await sh("for i in 1 2 3 4 5 6 7 8 9 10; do [ -z \"$(docker network ls --filter name=svc-net- -q)\" ] && break; sleep 1; done; docker network ls --filter name=svc-net- -q")).toBe("");
    });
});

describe("swarm:Service jobs", () => {
    test("a replicated-job and a global-job run to completion before up returns (a network given by name reads back as that name)", async () => {
        const stack = await newStack("svc-jobs", async () => {
            new Service("svc-job-once", {
                ...base(),
                name: "svc-job-once",
                image: IMAGE,
                mode: "replicated-job",
                replicas: 3,
                maxConcurrent: 2,
                command: ["sh", "-c", "sleep 1; echo done"],
                networks: ["svc-jobs-net"],
            });
            new Service("svc-job-all", { ...base(), name: "svc-job-all", image: IMAGE, mode: "global-job", command: ["true"] });
        });
        const up = await stack.up({ onOutput: log("jobs") });
        expect(up.summary.resourceChanges).toEqual({ create: 3 });
        expect(up.stdout).toContain("service svc-job-once: 3/3 job tasks completed");
        expect(await taskStates("svc-job-once", "complete")).toEqual(Array(3).fill(expect.stringMatching(/^Complete /)));
        expect(await taskStates("svc-job-all", "complete")).toHaveLength(NODES);
        // Swarm stores the network's ID; the refresh reads it back as the name asked for (no diff).
        const netId = await sh("docker network inspect -f '{{.Id}}' svc-jobs-net");
        expect((await inspect("svc-job-once"))!.Spec.TaskTemplate.Networks).toEqual([{ Target: netId }]);
        expect((await stack.preview({ refresh: true })).changeSummary).toEqual({ same: 3 });
        await stack.destroy({ onOutput: log("jobs-destroy") });
        expect(await inspect("svc-job-once")).toBeUndefined();
    });
});

describe("swarm:Service failures", () => {
    test("create with an image that does not exist fails naming the task, the node and the daemon's error, and leaves nothing behind", async () => {
        const stack = await newStack("svc-nope", async () => {
            new Service("svc-nope", { ...base(), name: "svc-nope", image: "198.18.20.2:5000/lab/nope:1", replicas: 1, command: ["sleep", "3600"] });
        });
        const nodes = [...cfg.managers, ...cfg.workers].map((h) => h.name).join("|");
        const err = await stack.up({ onOutput: log("nope") }).then(
            () => new Error("up succeeded"),
            (e: Error) => e,
        );
        expect(err.message).toMatch(new RegExp(`service svc-nope did not converge: task svc-nope\\.1 \\([0-9a-z]{12}\\) on (${nodes}): rejected: No such image: 198\\.18\\.20\\.2:5000/lab/nope:1`));
        expect(err.message).toContain("the service was removed again");
        expect(await inspect("svc-nope")).toBeUndefined();
        const state = await stack.exportStack();
        expect(state.deployment.resources.filter((r: { type: string }) => r.type.endsWith("swarm:Service"))).toEqual([]);
    });

    test("an update that never becomes healthy is rolled back by Swarm, and the error says so", async () => {
        let healthy = true;
        const stack = await newStack("svc-hc", async () => {
            new Service("svc-hc", {
                ...base(),
                name: "svc-hc",
                image: IMAGE,
                replicas: 1,
                command: ["sleep", "3600"],
                healthcheck: { test: healthy ? "true" : "false", interval: "1s", timeout: "1s", retries: 1 },
                updateConfig: { monitor: "5s" },
            });
        });
        await stack.up({ onOutput: log("hc-create") });
        healthy = false;
        const err = await stack.up({ onOutput: log("hc-update") }).then(
            () => new Error("up succeeded"),
            (e: Error) => e,
        );
        expect(err.message).toMatch(/updating service svc-hc failed, and Swarm rolled it back to the previous spec \(.*\): task svc-hc\.1 \([0-9a-z]{12}\) on \w+: failed: .*unhealthy/);
        const live = (await inspect("svc-hc"))!;
        expect(live.Spec.TaskTemplate.ContainerSpec.Healthcheck!.Test).toEqual(["CMD-SHELL", "true"]);
        // The state keeps the last good spec: the failed change is still to be made.
        expect((await stack.preview()).changeSummary).toEqual({ same: 1, update: 1 });
    });
});
