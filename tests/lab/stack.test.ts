// End to end through the real Pulumi engine (Automation API → CLI → our language host → the
// program → our dynamic providers → ssh2 through the bastion → each node's dockerd).
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { withSession } from "../../providers/ssh/connection";
import { labConfig, privateKey, targets } from "./labConfig";
import { labStack, log, requiredEnv } from "./harness";

const cfg = labConfig();
const hosts = targets(cfg);
const mgr1 = hosts.get(cfg.managers[0].name)!;
const nodeNames = [...cfg.managers, ...cfg.workers].map((h) => h.name);


interface NodeView {
    hostname: string;
    role: string;
    state: string;
    availability: string;
}

async function swarmNodes(): Promise<NodeView[]> {
    return withSession(mgr1, async (s) => {
        const nodes = await s.docker().listNodes();
        return nodes
            .map((n) => ({ hostname: n.Description!.Hostname!, role: n.Spec!.Role!, state: n.Status!.State!, availability: n.Spec!.Availability! }))
            .sort((a, b) => a.hostname.localeCompare(b.hostname));
    });
}

async function swarmStateOf(name: string): Promise<string> {
    return withSession(hosts.get(name)!, async (s) => (await s.docker().info()).Swarm.LocalNodeState as string);
}

describe("pulumi up --stack lab, through the bastion, with the real engine", () => {
    let stack: Stack;
    let afterAllRestore: () => Promise<void> = async () => undefined;
    afterAll(() => afterAllRestore());

    beforeAll(async () => {
        stack = await labStack();
        // This file tests the cluster and the demo; the data tier, Spark, the ETL and observability have their own suite (platform.test.ts).
        const off = ["swarm-etl:postgres", "swarm-etl:spark", "swarm-etl:etl", "swarm-etl:observability"];
        for (const k of off) await stack.setConfig(k, { value: JSON.stringify({ enabled: false }) });
        afterAllRestore = async () => {
            for (const k of off) await stack.removeConfig(k);
        };
        // Start from nothing, whatever an earlier demo left in this lab.
        await stack.destroy({ onOutput: log("destroy-before") });
        for (const n of nodeNames) expect(await swarmStateOf(n)).toBe("inactive");
    });

    test("up builds a 5-node swarm (3 managers, 2 workers, distinct hostnames, all Ready) and the demo service", async () => {
        const res = await stack.up({ onOutput: log("up") });
        expect(res.summary.result).toBe("succeeded");
        // The stack, 2 components, 5 host checks, the init, 5 memberships, 5 node specs, the network, the service.
        expect(res.summary.resourceChanges?.create).toBe(1 + 2 + 5 + 1 + 5 + 5 + 2);

        const nodes = await swarmNodes();
        expect(nodes).toEqual(
            nodeNames.sort().map((n) => ({ hostname: n, role: n.startsWith("mgr") ? "manager" : "worker", state: "ready", availability: "active" })),
        );
        expect(res.outputs.nodes.value.map((n: { hostname: string }) => n.hostname).sort()).toEqual(nodeNames.sort());
        expect(res.outputs.workerToken.secret).toBe(true);

        const nodeAddrs = await withSession(mgr1, async (s) => {
            const docker = s.docker();
            const tasks = await docker.listTasks({ filters: { service: ["demo-web"], "desired-state": ["running"] } });
            const running = tasks.filter((t) => t.Status?.State === "running");
            return Promise.all(running.map(async (t) => (await docker.getNode(t.NodeID!).inspect()).Status.Addr as string));
        });
        expect(nodeAddrs).toHaveLength(2);
        // Each task answers on its node's host-mode port (seen from the bastion, on the private network).
        const bastion = hosts.get(cfg.bastion.name)!;
        const answers = await withSession(bastion, (s) => Promise.all(nodeAddrs.map((a) => s.exec(`curl -s -m 5 http://${a}:8080/hostname`))));
        for (const a of answers) expect(a.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
        expect(new Set(answers.map((a) => a.stdout.trim())).size).toBe(2);
    });

    test("the state holds no private key and no join token in plaintext", async () => {
        // The checkpoint file itself (exportStack would decrypt the secrets for us).
        const backend = requiredEnv("PULUMI_BACKEND_URL").replace(/^file:\/\//, "");
        const state = fs.readFileSync(path.join(backend, ".pulumi/stacks/swarm-etl/lab.json"), "utf8");
        expect(state).toContain("swarm-mgr1-check"); // the right file
        const keyBody = privateKey(cfg).split("\n")[1];
        expect(keyBody.length).toBeGreaterThan(20);
        expect(state).not.toContain(keyBody);
        expect(state).not.toContain("SWMTKN-");
        expect(state).not.toContain("SWMKEY-");
    });

    test("a second preview shows no changes", async () => {
        const res = await stack.preview({ onOutput: log("preview") });
        const changes = Object.entries(res.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        expect(changes).toEqual([]);
    });

    test("refresh sees a service scaled by hand, and up repairs it", async () => {
        const scaled = await withSession(mgr1, (s) => s.exec("docker service scale --detach demo-web=3"));
        expect(scaled.code).toBe(0);

        const refresh = await stack.refresh({ onOutput: log("refresh") });
        expect(refresh.summary.resourceChanges?.update).toBe(1);
        const state = await stack.exportStack();
        const web = state.deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::demo-web"));
        expect(web.outputs.replicas).toBe(3);

        const preview = await stack.preview({ onOutput: log("preview-drift") });
        expect(preview.changeSummary.update).toBe(1);

        const up = await stack.up({ onOutput: log("up-repair") });
        expect(up.summary.resourceChanges?.update).toBe(1);
        const replicas = await withSession(mgr1, async (s) => (await s.docker().getService("demo-web").inspect()).Spec.Mode.Replicated.Replicas);
        expect(replicas).toBe(2);
    });

    test("refresh sees a node that left the swarm by hand, and up rejoins it", async () => {
        const worker = cfg.workers[cfg.workers.length - 1].name;
        const left = await withSession(hosts.get(worker)!, (s) => s.exec("docker swarm leave --force"));
        expect(left.code).toBe(0);

        const refresh = await stack.refresh({ onOutput: log("refresh-node") });
        expect(refresh.summary.resourceChanges?.delete).toBe(1);

        const up = await stack.up({ onOutput: log("up-rejoin") });
        expect(up.summary.resourceChanges?.create).toBe(1);
        expect(await swarmStateOf(worker)).toBe("active");
        const ready = (await swarmNodes()).filter((n) => n.hostname === worker && n.state === "ready");
        expect(ready).toHaveLength(1);
    });

    test("destroy makes every node leave and leaves the hosts clean", async () => {
        const res = await stack.destroy({ onOutput: log("destroy") });
        expect(res.summary.result).toBe("succeeded");
        for (const n of nodeNames) expect(await swarmStateOf(n)).toBe("inactive");
        const leftovers = await withSession(mgr1, (s) => s.exec("docker ps -aq | wc -l; docker network ls --filter driver=overlay -q | wc -l"));
        expect(leftovers.stdout.trim().split(/\s+/)).toEqual(["0", "0"]);
    });
});
