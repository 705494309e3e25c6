// The cluster's whole life through the real engine, on the lab: host check, scale out and in
// (workers and managers), the quorum guard, a manager lost while `pulumi up` still succeeds, a
// killed worker seen by refresh and rejoined, join-token rotation, autolock on and off with the
// unlock runbook, and the access outputs used by real OpenSSH and Ansible. The program is
// index.ts; each step rewrites the `lifecycle` stack's config (Pulumi.lifecycle.yaml).
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { withSession } from "../../providers/ssh/connection";
import { LAB_STACK_FILE, labConfig, REPO, targets } from "./labConfig";
import { engineEnv, labStack, log, requiredEnv } from "./harness";
import { labShell } from "./labShell";

const cfg = labConfig();
const hosts = targets(cfg);
const STACK = "lifecycle";
const STACK_FILE = path.join(REPO, `Pulumi.${STACK}.yaml`);
const labDoc = YAML.parse(fs.readFileSync(LAB_STACK_FILE, "utf8")) as { config: Record<string, unknown> };
const labManagers = labDoc.config["swarm-etl:managers"] as Record<string, unknown>[];
const labWorkers = labDoc.config["swarm-etl:workers"] as Record<string, unknown>[];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swetl-lifecycle-"));
const knownHostsFile = path.join(tmp, "known_hosts");

interface Shape {
    managers: string[];
    workers: string[];
    labels?: Record<string, Record<string, string>>;
    extra?: Record<string, unknown>;
}

/** Writes the stack's config: the lab's hosts named in `shape`, demo off, plus `extra` keys. */
function writeConfig(shape: Shape): void {
    const pick = (list: Record<string, unknown>[], names: string[]) =>
        names.map((n) => {
            const h = list.find((x) => x.name === n);
            if (!h) throw new Error(`no lab host ${n}`);
            return shape.labels?.[n] ? { ...h, labels: shape.labels[n] } : h;
        });
    const config: Record<string, unknown> = {
        ...labDoc.config,
        "swarm-etl:managers": pick(labManagers, shape.managers),
        "swarm-etl:workers": pick(labWorkers, shape.workers),
        "swarm-etl:demo": { enabled: false },
        "swarm-etl:postgres": { enabled: false },
        "swarm-etl:spark": { enabled: false },
        "swarm-etl:etl": { enabled: false },
        "swarm-etl:observability": { enabled: false },
        "swarm-etl:access": { knownHostsFile },
    };
    for (const [k, v] of Object.entries(shape.extra ?? {})) config[`swarm-etl:${k}`] = v;
    const salt = fs.existsSync(STACK_FILE) ? (YAML.parse(fs.readFileSync(STACK_FILE, "utf8")) as { encryptionsalt?: string }).encryptionsalt : undefined;
    fs.writeFileSync(STACK_FILE, YAML.stringify({ ...(salt ? { encryptionsalt: salt } : {}), config }));
}

const sh = async (host: string, command: string) => {
    const r = await withSession(hosts.get(host)!, (s) => s.exec(command));
    if (r.code !== 0) throw new Error(`${host}: ${command}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
};

interface NodeRow {
    hostname: string;
    role: string;
    state: string;
    availability: string;
    labels: Record<string, string>;
    reachability?: string;
}

/** `docker node ls` as seen by `via` (a manager). */
async function swarmNodes(via = cfg.managers[0].name): Promise<NodeRow[]> {
    return withSession(hosts.get(via)!, async (s) => {
        const nodes = await s.docker().listNodes();
        return nodes
            .map((n) => ({
                hostname: n.Description!.Hostname!,
                role: n.Spec!.Role!,
                state: n.Status!.State!,
                availability: n.Spec!.Availability!,
                labels: n.Spec!.Labels ?? {},
                reachability: n.ManagerStatus?.Reachability,
            }))
            .sort((a, b) => a.hostname.localeCompare(b.hostname));
    });
}

const localState = (name: string) => withSession(hosts.get(name)!, async (s) => (await s.docker().info()).Swarm.LocalNodeState as string);
const lab = (args: string) => labShell(`bash ${REPO}/lab/lab.sh ${args}`);

function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) =>
        execFile(file, args, { timeout: 180_000, env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: "True" } }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
    );
}

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await probe().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 1000));
    }
}

describe("cluster lifecycle through the real engine (stack `lifecycle`)", () => {
    let stack: Stack;

    beforeAll(async () => {
        // Start from no swarm: the lab stack (an earlier file's, or the demo's) is destroyed first.
        await (await labStack()).destroy({ onOutput: log("lab-destroy") });
        for (const h of [...cfg.managers, ...cfg.workers]) {
            if ((await localState(h.name)) !== "inactive") await sh(h.name, "docker swarm leave --force");
        }
        writeConfig({ managers: ["mgr1"], workers: ["wkr1"] });
        stack = await LocalWorkspace.createOrSelectStack({ stackName: STACK, workDir: REPO }, { envVars: engineEnv() });
        // A stack left by an interrupted run describes a swarm that is gone now.
        await stack.workspace.removeStack(STACK, { force: true });
        stack = await LocalWorkspace.createOrSelectStack({ stackName: STACK, workDir: REPO }, { envVars: engineEnv() });
    });

    afterAll(async () => {
        for (const h of ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"]) await lab(`dockerd ${h} start`).catch(() => undefined);
        if (stack) {
            await stack.destroy({ onOutput: log("destroy-final") }).catch(() => undefined);
            await stack.workspace.removeStack(STACK).catch(() => undefined);
        }
        fs.rmSync(STACK_FILE, { force: true });
    });

    test("the host check refuses an unsupported Docker version before the swarm exists, naming the host and the fix", async () => {
        writeConfig({ managers: ["mgr1"], workers: ["wkr1"], extra: { hostCheck: { minDockerVersion: "99.0" } } });
        const err = await stack.up({ onOutput: log("up-hostcheck") }).then(
            () => undefined,
            (e: Error) => e.message,
        );
        expect(err).toMatch(/mgr1 runs Docker \d+\.\d+\.\S+, older than the supported 99\.0; fix: upgrade Docker on mgr1/);
        expect(await localState("mgr1")).toBe("inactive");
    });

    test("up builds 1 manager + 1 worker with labels from config, Swarm traffic on the private addresses", async () => {
        writeConfig({ managers: ["mgr1"], workers: ["wkr1"], labels: { wkr1: { "etl.storage": "ssd" } } });
        const res = await stack.up({ onOutput: log("up-small") });
        expect(res.summary.result).toBe("succeeded");
        expect(await swarmNodes()).toEqual([
            { hostname: "mgr1", role: "manager", state: "ready", availability: "active", labels: {}, reachability: "reachable" },
            { hostname: "wkr1", role: "worker", state: "ready", availability: "active", labels: { "etl.storage": "ssd" }, reachability: undefined },
        ]);
        const info = await withSession(hosts.get("mgr1")!, async (s) => (await s.docker().info()).Swarm);
        expect(info.NodeAddr).toBe(cfg.managers[0].privateAddress); // not its public address
    });

    test("scale out: two managers (one at a time) and a worker join; a second up changes nothing", async () => {
        writeConfig({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1", "wkr2"], labels: { wkr1: { "etl.storage": "ssd" } } });
        const res = await stack.up({ onOutput: log("up-scale-out") });
        expect(res.summary.resourceChanges?.create).toBe(9); // 3 hosts × (check, membership, node spec)
        const nodes = await swarmNodes();
        expect(nodes.map((n) => [n.hostname, n.role, n.state, n.reachability ?? "-"])).toEqual([
            ["mgr1", "manager", "ready", "reachable"],
            ["mgr2", "manager", "ready", "reachable"],
            ["mgr3", "manager", "ready", "reachable"],
            ["wkr1", "worker", "ready", "-"],
            ["wkr2", "worker", "ready", "-"],
        ]);
        const again = await stack.preview({ onOutput: log("preview-same") });
        expect(Object.entries(again.changeSummary).filter(([op, n]) => op !== "same" && n > 0)).toEqual([]);
    });

    test("access outputs: OpenSSH with the snippet reaches every node, and Ansible pings every node over the inventory", async () => {
        const outputs = await stack.outputs();
        fs.writeFileSync(knownHostsFile, outputs.knownHosts.value as string);
        const sshConfigFile = path.join(tmp, "ssh_config");
        fs.writeFileSync(sshConfigFile, outputs.sshConfig.value as string);
        const inventory = path.join(tmp, "inventory.yaml");
        fs.writeFileSync(inventory, outputs.ansibleInventory.value as string);
        for (const n of ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"]) {
            const r = await run("ssh", ["-F", sshConfigFile, "-o", "BatchMode=yes", n, "hostname"]);
            expect({ n, out: r.out.trim(), code: r.code }).toEqual({ n, out: n, code: 0 });
        }
        // A wrong pinned key is refused (the snippet never trusts on first use).
        const wrong = path.join(tmp, "known_hosts.wrong");
        fs.writeFileSync(wrong, (outputs.knownHosts.value as string).replace(/^wkr1 .*$/m, `wkr1 ${cfg.managers[0].hostKey}`));
        const refused = await run("ssh", ["-F", sshConfigFile, "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${wrong}`, "wkr1", "hostname"]);
        expect(refused.code).not.toBe(0);
        expect(refused.out).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);

        const ansible = requiredEnv("SWARM_ETL_ANSIBLE");
        const ping = await run(ansible, ["all", "-i", inventory, "-m", "ping", "-e", `ansible_python_interpreter=${process.env.SWARM_ETL_ANSIBLE_PYTHON ?? "/usr/bin/python3"}`]);
        expect(ping.code).toBe(0);
        for (const n of ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"]) expect(ping.out).toMatch(new RegExp(`^${n} \\| SUCCESS`, "m"));
    });

    test("join-token rotation on demand: new tokens, no node re-joins", async () => {
        const before = await stack.outputs();
        writeConfig({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1", "wkr2"], labels: { wkr1: { "etl.storage": "ssd" } }, extra: { joinTokenRotation: 1 } });
        const res = await stack.up({ onOutput: log("up-rotate") });
        expect(res.summary.resourceChanges).toMatchObject({ update: 1 });
        expect(res.outputs.workerToken.secret).toBe(true);
        expect(res.outputs.workerToken.value).not.toBe(before.workerToken.value);
        expect(res.outputs.managerToken.value).not.toBe(before.managerToken.value);
        expect((await sh("mgr1", "docker swarm join-token -q worker")).trim()).toBe(res.outputs.workerToken.value);
        expect((await swarmNodes()).every((n) => n.state === "ready")).toBe(true);
    });

    test("autolock on: the unlock key is a secret output; a restarted manager is locked until the runbook unlocks it; autolock off again", async () => {
        const shape = { managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1", "wkr2"], labels: { wkr1: { "etl.storage": "ssd" } } };
        writeConfig({ ...shape, extra: { joinTokenRotation: 1, autolock: true } });
        const on = await stack.up({ onOutput: log("up-autolock") });
        expect(on.outputs.unlockKey.secret).toBe(true);
        const key = on.outputs.unlockKey.value as string;
        expect(key).toMatch(/^SWMKEY-1-/);
        expect((await sh("mgr1", "docker swarm unlock-key -q")).trim()).toBe(key);

        await lab("dockerd mgr3 stop");
        await lab("dockerd mgr3 start");
        expect(await localState("mgr3")).toBe("locked");
        // Runbook "A locked manager": the key goes in on stdin, never on a command line.
        const unlock = await withSession(hosts.get("mgr3")!, (s) => s.exec(`printf '%s\\n' '${key}' | docker swarm unlock`));
        expect(unlock.code).toBe(0);
        expect(await localState("mgr3")).toBe("active");

        writeConfig({ ...shape, extra: { joinTokenRotation: 1, autolock: false } });
        const off = await stack.up({ onOutput: log("up-autolock-off") });
        expect(off.outputs.unlockKey.value).toBe("");
        expect((await sh("mgr1", "docker info --format '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}'")).trim()).toBe("false");
    });

    test("a manager lost: pulumi up still succeeds through another manager", async () => {
        await lab("dockerd mgr1 kill");
        writeConfig({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1", "wkr2"], labels: { wkr1: { "etl.storage": "ssd" }, wkr2: { "etl.storage": "hdd" } }, extra: { joinTokenRotation: 1 } });
        const res = await stack.up({ onOutput: log("up-manager-lost") });
        expect(res.summary.result).toBe("succeeded");
        const wkr2 = (await swarmNodes("mgr2")).find((n) => n.hostname === "wkr2")!;
        expect(wkr2.labels).toEqual({ "etl.storage": "hdd" });
        await lab("dockerd mgr1 start");
        await waitUntil("mgr1 back and reachable", 60_000, async () =>
            (await swarmNodes("mgr2")).find((n) => n.hostname === "mgr1" && n.state === "ready" && n.reachability === "reachable") ? true : undefined,
        );
    });

    test("a killed worker is seen by refresh and rejoined by up, with one entry in the node list", async () => {
        await lab("dockerd wkr1 kill");
        await waitUntil("the managers to see wkr1 down", 60_000, async () => ((await swarmNodes()).find((n) => n.hostname === "wkr1")?.state === "down" ? true : undefined));
        const refresh = await stack.refresh({ onOutput: log("refresh-killed") });
        expect(refresh.summary.resourceChanges?.delete).toBeGreaterThanOrEqual(1);
        await lab("dockerd wkr1 start"); // the host comes back
        const up = await stack.up({ onOutput: log("up-rejoin-killed") });
        expect(up.summary.resourceChanges?.create).toBeGreaterThanOrEqual(1);
        const wkr1 = (await swarmNodes()).filter((n) => n.hostname === "wkr1");
        expect(wkr1.map((n) => [n.state, n.labels])).toEqual([["ready", { "etl.storage": "ssd" }]]);
    });

    test("scale in a worker: drained (its tasks move), it leaves and is removed from the node list", async () => {
        await sh("mgr1", "docker service create --detach --name lc-move --replicas 2 --constraint node.role==worker --replicas-max-per-node 2 198.18.20.2:5000/lab/busybox:1.35 sleep 86400 >/dev/null");
        const onWkr2 = async () => {
            const out = await sh("mgr1", "docker service ps lc-move --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'");
            return out.trim().split("\n").filter((l) => l.startsWith("wkr2 Running")).length;
        };
        await waitUntil("a task of lc-move on wkr2", 90_000, async () => ((await onWkr2()) > 0 ? true : undefined));

        writeConfig({ managers: ["mgr1", "mgr2", "mgr3"], workers: ["wkr1"], labels: { wkr1: { "etl.storage": "ssd" } }, extra: { joinTokenRotation: 1 } });
        const res = await stack.up({ onOutput: log("up-scale-in-worker") });
        expect(res.summary.resourceChanges?.delete).toBe(3);
        expect((await swarmNodes()).map((n) => n.hostname)).toEqual(["mgr1", "mgr2", "mgr3", "wkr1"]);
        expect(await localState("wkr2")).toBe("inactive");
        const running = (await sh("mgr1", "docker service ps lc-move --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'")).trim().split("\n");
        expect(running.map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["wkr1 Running", "wkr1 Running"]);
        await sh("mgr1", "docker service rm lc-move >/dev/null");
    });

    test("scale in managers: the quorum guard refuses while a remaining manager is down; once it is back, both are demoted and leave", async () => {
        const shape = { managers: ["mgr1"], workers: ["wkr1"], labels: { wkr1: { "etl.storage": "ssd" } }, extra: { joinTokenRotation: 1 } };
        await lab("dockerd mgr2 stop");
        await waitUntil("mgr2 unreachable", 60_000, async () =>
            (await swarmNodes()).find((n) => n.hostname === "mgr2" && n.reachability === "unreachable") ? true : undefined,
        );
        writeConfig(shape);
        const refused = await stack.up({ onOutput: log("up-quorum-refused") }).then(
            () => undefined,
            (e: Error) => e.message,
        );
        expect(refused).toContain("refusing to remove mgr3: 1 of 2 managers would be reachable, and Raft needs a majority (more than 1) to keep the swarm's quorum. Fix: bring the unreachable managers back first (mgr2)");
        expect((await swarmNodes()).filter((n) => n.role === "manager").map((n) => n.hostname)).toEqual(["mgr1", "mgr2", "mgr3"]);
        expect(await localState("mgr3")).toBe("active");

        await lab("dockerd mgr2 start");
        await waitUntil("mgr2 reachable again", 60_000, async () =>
            (await swarmNodes()).find((n) => n.hostname === "mgr2" && n.reachability === "reachable") ? true : undefined,
        );
        const res = await stack.up({ onOutput: log("up-scale-in-managers") });
        expect(res.summary.result).toBe("succeeded");
        expect((await swarmNodes()).map((n) => [n.hostname, n.role])).toEqual([
            ["mgr1", "manager"],
            ["wkr1", "worker"],
        ]);
        expect([await localState("mgr2"), await localState("mgr3")]).toEqual(["inactive", "inactive"]);
    });

    test("destroy retires every node and leaves the hosts out of any swarm", async () => {
        const res = await stack.destroy({ onOutput: log("destroy") });
        expect(res.summary.result).toBe("succeeded");
        for (const n of ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"]) expect(await localState(n)).toBe("inactive");
    });
});
