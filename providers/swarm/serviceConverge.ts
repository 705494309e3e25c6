// Waiting for a service to converge after create/update: every task running the current spec
// (Swarm reports a task with a healthcheck as running only once it is healthy), or for jobs,
// every task of the current iteration complete. Progress goes to the engine's log; a failure
// names the task, its node and the daemon's own error text, and an update that Swarm rolled
// back (UpdateConfig.FailureAction "rollback") is reported as such.
import type Docker = require("dockerode");
import { canonical, sleep } from "./common";

export interface TaskView {
    ID: string;
    NodeID?: string;
    Slot?: number;
    DesiredState: string;
    CreatedAt: string;
    Status: { State: string; Err?: string; Message?: string; Timestamp?: string };
    Spec?: Record<string, unknown>;
    JobIteration?: { Index?: number };
}

interface ServiceView {
    Spec: {
        Name: string;
        TaskTemplate: Record<string, unknown> & { RestartPolicy?: { Condition?: string; MaxAttempts?: number } };
        Mode: { Replicated?: { Replicas?: number }; Global?: object; ReplicatedJob?: { TotalCompletions?: number }; GlobalJob?: object };
    };
    UpdateStatus?: { State?: string; Message?: string };
    JobStatus?: { JobIteration?: { Index?: number } };
}

/** Runs `fn` with a Docker client on a fresh (pooled) session: a poll survives a dropped connection. */
export type WithDocker = <T>(fn: (docker: Docker) => Promise<T>) => Promise<T>;

export interface ConvergeOptions {
    serviceId: string;
    name: string;
    timeoutMs: number;
    /** Tasks that existed before this create/update: their failures are not this change's. */
    knownTaskIds?: Set<string>;
    /** Progress messages (the provider sends them to the engine's log). */
    log?: (msg: string) => void;
    pollMs?: number;
}

const FAILED = ["failed", "rejected"];
/** Polls in a row that may fail (a dropped SSH connection, a manager changing leader) before giving up. */
const POLL_ERRORS = 5;
/** Failures of new tasks after which Swarm's retries are not waited for any longer. */
const MAX_FAILURES = 3;
/** Polls with no task at all after which a global service counts as converged (no node is eligible). */
const EMPTY_POLLS = 3;

/** What to do about the errors Swarm reports most, appended to a failure's message. */
export function fixFor(errors: string): string {
    const hints: [RegExp, string][] = [
        [/No such image|manifest unknown|pull access denied/i, "check the image reference and that every node can pull it from its registry"],
        [/unhealthy container/i, "the healthcheck keeps failing: check healthcheck.test against the image, and the task's output with `docker service logs`"],
        [/no suitable node/i, "no node satisfies the placement constraints, resources or ports: check constraints, reservations and host-mode ports"],
        [/non-zero exit/i, "the container exits with an error: see its output with `docker service logs`"],
        [/secret .* not found|config .* not found|network .* not found/i, "a secret, config or network the service refers to does not exist"],
    ];
    const hit = hints.find(([re]) => re.test(errors));
    return hit ? `; ${hit[1]}` : "";
}

/** A task runs the service's current spec (the task's copy lacks only Runtime). */
export function runsSpec(task: TaskView, template: Record<string, unknown>): boolean {
    const strip = (o: Record<string, unknown> | undefined) => ({ ...(o ?? {}), Runtime: undefined });
    return JSON.stringify(canonical(strip(task.Spec))) === JSON.stringify(canonical(strip(template)));
}

/** Waits until the service converged; throws naming the failing tasks, their nodes and the daemon's errors. */
export async function waitConverged(withDocker: WithDocker, o: ConvergeOptions): Promise<void> {
    const deadline = Date.now() + o.timeoutMs;
    const known = o.knownTaskIds ?? new Set<string>();
    const hostnames = new Map<string, string>();
    const nodeName = async (id?: string) => {
        if (!id) return "no node (not scheduled)";
        if (!hostnames.has(id)) {
            const node = await withDocker((d) => d.getNode(id).inspect()).catch(() => undefined);
            hostnames.set(id, node?.Description?.Hostname ?? id);
        }
        return hostnames.get(id)!;
    };
    const taskName = async (t: TaskView) => `task ${o.name}.${t.Slot ? String(t.Slot) : (t.NodeID ?? "?")} (${t.ID.slice(0, 12)}) on ${await nodeName(t.NodeID)}`;
    /** The latest task of each distinct error, with the other attempts that had the same error. */
    const failureDetails = async (tasks: TaskView[]) => {
        const byError = new Map<string, TaskView[]>();
        const newestFirst = [...tasks].sort((a, b) => (b.Status.Timestamp ?? b.CreatedAt).localeCompare(a.Status.Timestamp ?? a.CreatedAt));
        for (const t of newestFirst) {
            const why = `${t.Status.State}: ${t.Status.Err || t.Status.Message || ""}`;
            byError.set(why, [...(byError.get(why) ?? []), t]);
        }
        const parts = await Promise.all(
            [...byError].map(async ([why, ts]) => {
                const others = ts.length > 1 ? ` (the same for ${ts.length - 1} earlier attempt${ts.length > 2 ? "s" : ""}: ${(await Promise.all(ts.slice(1).map(taskName))).join(", ")})` : "";
                return `${await taskName(ts[0])}: ${why}${others}`;
            }),
        );
        const text = parts.join("; ") + fixFor(parts.join(" "));
        // The failed task's own last words: the service is removed on a failed create, and its logs with it.
        const exited = newestFirst.find((t) => /non-zero exit|unhealthy/i.test(t.Status.Err ?? ""));
        const output = exited ? await withDocker((d) => taskOutput(d, exited.ID)).catch(() => "") : "";
        return output ? `${text}; the last lines it printed:\n${output}` : text;
    };

    let lastProgress = "";
    let emptyPolls = 0;
    let pollErrors = 0;
    for (;;) {
        let svc: ServiceView;
        let tasks: TaskView[];
        try {
            [svc, tasks] = await withDocker(async (d) => [
                (await d.getService(o.serviceId).inspect()) as ServiceView,
                (await d.listTasks({ filters: { service: [o.serviceId] } })) as TaskView[],
            ]);
            pollErrors = 0;
        } catch (err) {
            if ((err as { statusCode?: number }).statusCode === 404) throw new Error(`service ${o.name} was removed (by hand?) while waiting for it to converge`);
            if (++pollErrors >= POLL_ERRORS || Date.now() > deadline) throw new Error(`waiting for service ${o.name} to converge failed: ${(err as Error).message}`);
            await sleep(o.pollMs ?? 1000);
            continue;
        }
        const failures = tasks.filter((t) => !known.has(t.ID) && FAILED.includes(t.Status.State));
        const update = svc.UpdateStatus?.State;
        const updateMessage = svc.UpdateStatus?.Message ?? "";

        if (update === "rollback_completed") {
            const tasksText = failures.length ? `: ${await failureDetails(failures)}` : "";
            throw new Error(`updating service ${o.name} failed, and Swarm rolled it back to the previous spec (${updateMessage})${tasksText}`);
        }
        if (update === "paused" || update === "rollback_paused") {
            const tasksText = failures.length ? `: ${await failureDetails(failures)}` : "";
            const what = update === "paused" ? "the update" : "the rollback of a failed update";
            throw new Error(`Swarm paused ${what} of service ${o.name} (${updateMessage})${tasksText}; fix the cause and run the update again, or roll back by hand with \`docker service rollback ${o.name}\``);
        }
        const updating = update === "updating" || update === "rollback_started";

        const m = svc.Spec.Mode;
        let done: boolean;
        let progress: string;
        if (m.ReplicatedJob || m.GlobalJob) {
            const iteration = svc.JobStatus?.JobIteration?.Index ?? 0;
            const current = tasks.filter((t) => (t.JobIteration?.Index ?? 0) === iteration);
            const nodesDone = new Set(current.filter((t) => t.Status.State === "complete").map((t) => t.NodeID));
            if (m.ReplicatedJob) {
                const want = m.ReplicatedJob.TotalCompletions ?? 1;
                const complete = current.filter((t) => t.Status.State === "complete").length;
                done = complete >= want;
                progress = `${complete}/${want} job tasks completed`;
            } else {
                const nodes = new Set(current.map((t) => t.NodeID));
                emptyPolls = nodes.size === 0 ? emptyPolls + 1 : 0;
                done = (nodes.size > 0 && nodesDone.size === nodes.size) || emptyPolls >= EMPTY_POLLS;
                progress = `${nodesDone.size}/${nodes.size} nodes completed the job`;
            }
        } else {
            const current = tasks.filter((t) => t.DesiredState === "running");
            const upToDate = current.filter((t) => t.Status.State === "running" && runsSpec(t, svc.Spec.TaskTemplate));
            const want = m.Replicated ? (m.Replicated.Replicas ?? 0) : current.length;
            emptyPolls = !m.Replicated && current.length === 0 ? emptyPolls + 1 : 0;
            done = !updating && current.length === want && upToDate.length === want && (m.Replicated !== undefined || want > 0 || emptyPolls >= EMPTY_POLLS);
            progress = `${upToDate.length}/${want} tasks running${updating ? ` (${update?.replace("_", " ")}: ${updateMessage})` : ""}`;
        }
        if (progress !== lastProgress) {
            o.log?.(`service ${o.name}: ${progress}`);
            lastProgress = progress;
        }
        if (done) return;

        const noRestart = svc.Spec.TaskTemplate.RestartPolicy?.Condition === "none";
        // A job whose every allowed attempt failed runs no more (Swarm restarts a task MaxAttempts times).
        const maxAttempts = svc.Spec.TaskTemplate.RestartPolicy?.MaxAttempts ?? 0;
        const isJob = !!(m.ReplicatedJob || m.GlobalJob);
        const trying = tasks.some((t) => !known.has(t.ID) && !FAILED.includes(t.Status.State) && t.Status.State !== "complete" && t.DesiredState !== "shutdown");
        const exhausted = isJob && maxAttempts > 0 && failures.length >= maxAttempts + 1 && !trying;
        if (!updating && (failures.length >= MAX_FAILURES || exhausted || (noRestart && failures.length > 0))) {
            throw new Error(`service ${o.name} did not converge: ${await failureDetails(failures)}`);
        }
        if (Date.now() > deadline) {
            const waiting = tasks.filter((t) => !known.has(t.ID) && !FAILED.includes(t.Status.State) && t.DesiredState !== "shutdown" && !["running", "complete"].includes(t.Status.State));
            const details = await failureDetails([...failures, ...waiting]);
            throw new Error(`service ${o.name} did not converge within ${Math.round(o.timeoutMs / 1000)} s: ${progress}${details ? `; ${details}` : ""}`);
        }
        await sleep(o.pollMs ?? 1000);
    }
}

/** Lines a task printed last (stdout and stderr, at most `lines`), as `docker service logs` shows them. */
export async function taskOutput(docker: Docker, taskId: string, lines = 15): Promise<string> {
    const modem = (docker as unknown as { modem: { dial: (o: object, cb: (err: unknown, data: unknown) => void) => void } }).modem;
    const raw = await new Promise<Buffer>((resolve, reject) =>
        modem.dial(
            { path: `/tasks/${taskId}/logs?`, method: "GET", options: { stdout: true, stderr: true, tail: String(lines) }, isStream: false, statusCodes: { 200: true, 404: "no such task", 500: "server error" } },
            (err, data) => (err ? reject(err) : resolve(Buffer.isBuffer(data) ? data : Buffer.from(String(data ?? "")))),
        ),
    );
    return demuxLogs(raw)
        .split("\n")
        .filter((l) => l.trim())
        .slice(-lines)
        .map((l) => `    | ${l}`)
        .join("\n");
}

/** The text of Docker's multiplexed log stream (8-byte frame headers), or the bytes as they are when not framed. */
export function demuxLogs(buf: Buffer): string {
    const out: Buffer[] = [];
    let i = 0;
    while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
        const len = buf.readUInt32BE(i + 4);
        out.push(buf.subarray(i + 8, i + 8 + len));
        i += 8 + len;
    }
    return i === 0 ? buf.toString("utf8") : Buffer.concat(out).toString("utf8");
}

/** Waits (up to `timeoutMs`) until a removed service's tasks are gone, so its networks, secrets and configs can go next. */
export async function waitTasksGone(withDocker: WithDocker, serviceId: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        // Listing the tasks of a service that is gone fails with 404: then they are gone too.
        const tasks = (await withDocker((d) => d.listTasks({ filters: { service: [serviceId] } })).catch((e) =>
            (e as { statusCode?: number }).statusCode === 404 ? [] : [undefined],
        )) as TaskView[];
        if (tasks.length === 0) return;
        await sleep(500);
    }
}
