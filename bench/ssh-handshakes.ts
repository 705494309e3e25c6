// Bench: SSH handshakes and time of a no-op `pulumi preview --refresh` of 20 services, with our
// pooled transport against the peer behaviour (one SSH connection per resource operation, as
// @pulumi/docker and Terraform's docker provider do: SWARM_ETL_SSH_POOL=0). Same lab, same run.
//
//   npm run bench -- ssh-handshakes        (writes bench/results/ssh-handshakes.md)
import * as fs from "fs";
import * as path from "path";
import { ensureSwarm, inlineStack, sleepingServices } from "../tests/lab/harness";
import { countHandshakes } from "../tests/lab/sshdLog";

const SERVICES = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HOSTS = ["bastion", "mgr1", "mgr2", "mgr3", "wkr1", "wkr2"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
    await ensureSwarm();
    const stack = await inlineStack("bench-ssh", async () => {
        sleepingServices("bench-svc", SERVICES);
    });
    await stack.up();
    const rows: string[] = [];
    const results: Record<string, { seconds: number[]; bastion: number[]; nodes: number[] }> = {};
    try {
        for (const [label, pool] of [["swarm-etl (pooled)", "1"], ["peer: one connection per operation", "0"]] as const) {
            results[label] = { seconds: [], bastion: [], nodes: [] };
            for (let r = 0; r < RUNS; r++) {
                stack.workspace.envVars.SWARM_ETL_SSH_POOL = pool;
                process.env.SWARM_ETL_SSH_POOL = pool;
                const t0 = Date.now();
                const { result, handshakes } = await countHandshakes(HOSTS, () => stack.preview({ refresh: true }));
                const seconds = (Date.now() - t0) / 1000;
                const changes = Object.entries(result.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
                if (changes.length) throw new Error(`the preview was not a no-op: ${JSON.stringify(result.changeSummary)}`);
                results[label].seconds.push(seconds);
                results[label].bastion.push(handshakes.bastion);
                results[label].nodes.push(HOSTS.slice(1).reduce((n, h) => n + handshakes[h], 0));
                console.log(`${label} run ${r + 1}: ${seconds.toFixed(1)} s, handshakes ${JSON.stringify(handshakes)}`);
            }
        }
    } finally {
        await stack.destroy();
    }
    const [ours, peer] = Object.values(results);
    rows.push("| transport | median time | SSH handshakes at the bastion | SSH handshakes at the nodes |", "| --- | --- | --- | --- |");
    for (const [label, r] of Object.entries(results)) {
        rows.push(`| ${label} | ${median(r.seconds).toFixed(1)} s | ${median(r.bastion)} | ${median(r.nodes)} |`);
    }
    const report = [
        "# SSH handshakes of a no-op `pulumi preview --refresh` of 20 services",
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on the lab (2 cores; bastion, 3 managers, 2 workers), ${RUNS} runs each, medians.`,
        "Command: `npm run bench -- ssh-handshakes`. Handshakes are counted in each host's sshd log (\"Accepted publickey\").",
        "The peer is the same provider with pooling off (`SWARM_ETL_SSH_POOL=0`): one SSH connection per resource",
        "operation, which is what @pulumi/docker / Terraform's docker provider do over `ssh://` (kreuzwerker/terraform-provider-docker#262).",
        "",
        ...rows,
        "",
        `Ratio (peer / ours): time ${(median(peer.seconds) / median(ours.seconds)).toFixed(2)}×, handshakes at the bastion ${(median(peer.bastion) / Math.max(1, median(ours.bastion))).toFixed(0)}×.`,
        "",
    ].join("\n");
    fs.writeFileSync(path.join(__dirname, "results", "ssh-handshakes.md"), report);
    console.log(report);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
