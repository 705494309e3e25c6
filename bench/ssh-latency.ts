// Bench: the latency of one Docker Engine API call from the operator to a manager through the
// bastion, the unit every provider operation is made of (a `swarm join` is ~10 calls, a refresh
// of a service 2–3). Three transports, same lab, same client library (dockerode), same calls:
//   - swarm-etl: our pooled ssh2 transport (channel to docker.sock), TCP_NODELAY on its socket;
//   - ssh2's default: the same transport with Nagle's algorithm left on (SWARM_ETL_SSH_NODELAY=0),
//     what a tool built on ssh2 gets unless it turns it off;
//   - OpenSSH: `ssh -N -L <socket>:/var/run/docker.sock mgr1` through the bastion (ProxyJump,
//     pinned host keys: the lab's OpenSSH config), the transport of Ansible and `docker -H ssh://`.
//
//   npm run bench -- ssh-latency        (writes bench/results/ssh-latency.md)
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker = require("dockerode");
import { closeAllSessions, withSession } from "../providers/ssh/connection";
import { labConfig, targets } from "../tests/lab/labConfig";

const CALLS = Number(process.env.BENCH_CALLS ?? 40);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
const HOST = "mgr1";
const SSH_CONFIG = `${process.env.SWARM_ETL_LAB_DIR ?? "/var/lib/swarm-etl-lab"}/ssh/config`; // written by `lab up`

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

/** CALLS sequential calls (ping, info, node list in turn); milliseconds of each. */
async function calls(docker: Docker): Promise<number[]> {
    const ms: number[] = [];
    for (let i = 0; i < CALLS; i++) {
        const t0 = process.hrtime.bigint();
        if (i % 3 === 0) await docker.ping();
        else if (i % 3 === 1) await docker.info();
        else await docker.listNodes();
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return ms;
}

async function viaSsh2(nodelay: boolean): Promise<number[]> {
    process.env.SWARM_ETL_SSH_NODELAY = nodelay ? "1" : "0";
    try {
        const target = targets(labConfig()).get(HOST)!;
        return await withSession(target, async (s) => {
            await s.docker().ping(); // warm: the connection is open before timing, as in a run
            return calls(s.docker());
        });
    } finally {
        await closeAllSessions();
        delete process.env.SWARM_ETL_SSH_NODELAY;
    }
}

async function viaOpenSsh(): Promise<number[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-etl-bench-ssh-"));
    const sock = path.join(dir, "docker.sock");
    const ssh: ChildProcess = spawn("ssh", ["-F", SSH_CONFIG, "-o", "ExitOnForwardFailure=yes", "-N", "-L", `${sock}:/var/run/docker.sock`, HOST], { stdio: "ignore" });
    try {
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(sock)) {
            if (ssh.exitCode !== null || Date.now() > deadline) throw new Error(`ssh -L to ${HOST} did not come up (exit ${ssh.exitCode}); try: ssh -F ${SSH_CONFIG} ${HOST} true`);
            await new Promise((r) => setTimeout(r, 50));
        }
        const docker = new Docker({ socketPath: sock });
        await docker.ping();
        return await calls(docker);
    } finally {
        ssh.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main() {
    const runs: Record<string, number[]> = { "swarm-etl (ssh2, TCP_NODELAY)": [], "ssh2's default (Nagle on)": [], "OpenSSH (ssh -L through the bastion)": [] };
    const [ours, nagle, openssh] = Object.keys(runs);
    for (let r = 0; r < ROUNDS; r++) {
        runs[ours].push(...(await viaSsh2(true)));
        runs[nagle].push(...(await viaSsh2(false)));
        runs[openssh].push(...(await viaOpenSsh()));
        console.log(`round ${r + 1}/${ROUNDS} done`);
    }
    const med = (k: string) => quantile(runs[k], 0.5);
    const rows = Object.entries(runs).map(([k, xs]) => `| ${k} | ${xs.length} | ${quantile(xs, 0.5).toFixed(1)} ms | ${quantile(xs, 0.9).toFixed(1)} ms | ${(med(k) / med(ours)).toFixed(1)}× |`);
    const report = [
        "# Latency of one Docker Engine API call through the bastion",
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on the lab (2 cores; operator → bastion → ${HOST}), ${ROUNDS} rounds of ${CALLS} sequential calls per transport`,
        "(ping, info and node list in turn), each transport's connection opened before timing. Command: `npm run bench -- ssh-latency`.",
        "Same client library (dockerode) and the same calls in all three; only the transport differs.",
        "",
        "| transport | calls | median | p90 | median vs swarm-etl |",
        "| --- | --- | --- | --- | --- |",
        ...rows,
        "",
        "Why: an API call is a few small SSH packets each way. With Nagle's algorithm on the operator's TCP socket, a small packet",
        "waits for the ACK of the previous one, which the peer delays (40 ms on Linux): twice per call. swarm-etl sets TCP_NODELAY",
        "on its socket to the bastion (`providers/ssh/client.ts`); OpenSSH sets it on its own connections.",
        "",
    ].join("\n");
    fs.writeFileSync(path.join(__dirname, "results", "ssh-latency.md"), report);
    console.log(report);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
