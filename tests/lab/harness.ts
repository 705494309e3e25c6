// Shared harness of the lab tests: a swarm that exists (the `lab` stack, brought up through the
// real engine if it is not), and inline Pulumi programs run by the real engine in their own
// stacks, so each test file declares just the resources it tests.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import type { HostConnection } from "../../providers/swarm/common";
import { Service } from "../../providers/swarm/service";
import { withSession } from "../../providers/ssh/connection";
import { labConfig, privateKey, REPO, targets } from "./labConfig";
import { nodeShell } from "./nodeShell";

export function requiredEnv(name: string): string {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set; run the lab tests through \`npm test\` (scripts/test.sh sets it)`);
    return v;
}

export function engineEnv(): Record<string, string> {
    return { PULUMI_BACKEND_URL: requiredEnv("PULUMI_BACKEND_URL"), PULUMI_CONFIG_PASSPHRASE: requiredEnv("PULUMI_CONFIG_PASSPHRASE") };
}

export const log = (tag: string) => (out: string) => {
    if (process.env.SWARM_ETL_TEST_VERBOSE) process.stdout.write(`[${tag}] ${out}`);
};

/** The `lab` stack (the program in index.ts with Pulumi.lab.yaml). */
export function labStack(): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack({ stackName: "lab", workDir: REPO }, { envVars: engineEnv() });
}

/**
 * Makes sure the lab's swarm exists, every node Ready: when it is not, `pulumi up --stack lab`
 * builds it (an earlier test file may have destroyed it), the swarm and the demo only: each test
 * file deploys the platform services it tests.
 */
export async function ensureSwarm(): Promise<void> {
    const cfg = labConfig();
    const expected = cfg.managers.length + cfg.workers.length;
    const ready = await withSession(targets(cfg).get(cfg.managers[0].name)!, async (s) => {
        const docker = s.docker();
        const info = await docker.info();
        if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm?.ControlAvailable) return 0;
        return (await docker.listNodes()).filter((n) => n.Status?.State === "ready").length;
    });
    if (ready === expected) return;
    const stack = await labStack();
    const off = ["swarm-etl:postgres", "swarm-etl:spark", "swarm-etl:etl", "swarm-etl:observability"];
    for (const k of off) await stack.setConfig(k, { value: JSON.stringify({ enabled: false }) });
    try {
        await stack.up({ onOutput: log("lab-up") });
    } finally {
        for (const k of off) await stack.removeConfig(k);
    }
}

/** How resources reach the swarm's first manager, through the bastion (the other managers as alternates). */
export function managerConnection(): HostConnection {
    const cfg = labConfig();
    const [m, ...others] = cfg.managers;
    return {
        name: m.name,
        host: m.privateAddress,
        port: m.port,
        user: cfg.sshUser,
        hostKey: m.hostKey,
        bastion: { name: cfg.bastion.name, host: cfg.bastion.publicAddress, port: cfg.bastion.port, user: cfg.bastion.user ?? cfg.sshUser, hostKey: cfg.bastion.hostKey },
        alternates: others.map((o) => ({ name: o.name, host: o.privateAddress, port: o.port, user: cfg.sshUser, hostKey: o.hostKey })),
    };
}

/** The lab's SSH key as a secret Output (call inside a Pulumi program). */
export function secretKey(): pulumi.Output<string> {
    return pulumi.secret(privateKey(labConfig()));
}

/**
 * A stack named `name` running `program` through the real engine. Its work directory is
 * tests/lab/.work/<name> with node_modules linked in, so the dynamic providers' `require`s resolve.
 */
export async function inlineStack(name: string, program: () => Promise<Record<string, unknown> | void>): Promise<Stack> {
    const workDir = path.join(REPO, "tests/lab/.work", name);
    fs.mkdirSync(workDir, { recursive: true });
    const link = path.join(workDir, "node_modules");
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(REPO, "node_modules"), link);
    return LocalWorkspace.createOrSelectStack(
        { stackName: name, projectName: "swarm-etl-tests", program },
        { workDir, envVars: engineEnv(), projectSettings: { name: "swarm-etl-tests", runtime: "nodejs" } },
    );
}

/** Declares `count` one-replica services named `<prefix>-<i>` that sleep (call inside a program). */
export function sleepingServices(prefix: string, count: number): Service[] {
    return Array.from(
        { length: count },
        (_, i) =>
            new Service(`${prefix}-${i}`, {
                connection: managerConnection(),
                privateKey: secretKey(),
                name: `${prefix}-${i}`,
                image: "198.18.20.2:5000/lab/busybox:1.35",
                replicas: 1,
                command: ["sleep", "86400"],
                endpointMode: "dnsrr",
            }),
    );
}

/** Each lab node's own connection (through the bastion), by name: for resources that live on one node. */
export function nodeConnections(): Record<string, HostConnection> {
    const cfg = labConfig();
    const bastion = { name: cfg.bastion.name, host: cfg.bastion.publicAddress, port: cfg.bastion.port, user: cfg.bastion.user ?? cfg.sshUser, hostKey: cfg.bastion.hostKey };
    return Object.fromEntries([...cfg.managers, ...cfg.workers].map((h) => [h.name, { name: h.name, host: h.privateAddress, port: h.port, user: h.user ?? cfg.sshUser, hostKey: h.hostKey, bastion }]));
}

/**
 * A clean slate for a suite's stack before it runs: `pulumi destroy`, then every Swarm object whose
 * name starts with one of `prefixes` (the stack's name by default) removed by hand on every node —
 * what no provider made (the scheduler's job runs, a volume Swarm made where a task landed, a
 * drill's probe) and, when the destroy failed (a run that stopped half way can leave what no
 * provider can delete any more, e.g. realm objects whose Keycloak lost its database), the rest too;
 * then the stack's state removed and the stack made again. Returns the stack to use.
 */
export async function freshStack(name: string, program: () => Promise<Record<string, unknown> | void>, prefixes: string[] = [name]): Promise<Stack> {
    const stack = await inlineStack(name, program);
    const destroyed = await stack.destroy({ onOutput: log(`${name}-destroy-before`) }).then(
        () => undefined,
        (e: Error) => (e.message.split("\n").find((l) => /error/i.test(l)) ?? e.message).trim().slice(0, 300),
    );
    if (destroyed !== undefined) console.log(`${name}: destroy failed (${destroyed}); removing the Swarm objects named ${prefixes.map((p) => `${p}-*`).join(", ")} and the stack's state`);
    const cfg = labConfig();
    const sh = nodeShell(cfg);
    const run = (host: string, command: string) => sh(command, host, 300_000);
    const manager = cfg.managers[0].name;
    const ls = (kind: string) => `{ ${prefixes.map((p) => `docker ${kind} ls -q --filter name=${p}-`).join("; ")}; }`;
    const rm = (kind: string) => `${ls(kind)} | sort -u | xargs -r docker ${kind} rm >/dev/null`;
    await run(manager, `${rm("service")}; for i in $(seq 1 60); do [ -z "$(${ls("service")})" ] && break; sleep 1; done`);
    for (const host of [...cfg.managers, ...cfg.workers].map((h) => h.name)) {
        // A volume goes once no container (running or not, of whatever name) holds it.
        await run(host, `for v in $(${ls("volume")}); do docker ps -aq --filter volume=$v | xargs -r docker rm -f >/dev/null; docker volume rm $v >/dev/null; done`);
    }
    // Networks go once the last task attached to them is gone on every node: until they are.
    await run(manager, `${rm("secret")}; ${rm("config")}; for i in $(seq 1 60); do ${ls("network")} | sort -u | xargs -r docker network rm >/dev/null 2>&1; [ -z "$(${ls("network")})" ] && exit 0; sleep 1; done; echo "networks left: $(${ls("network")})" >&2; exit 1`);
    if (destroyed === undefined) return stack;
    await stack.workspace.removeStack(name, { force: true });
    return inlineStack(name, program);
}
