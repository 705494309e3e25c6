// swarm:NodeSpec and swarm:Volume against the lab, through the real engine. The lab is shared:
// NodeSpec only touches labels under `node-test.`, the availability of wkr2 and wkr1 (restored to
// active) and the role of wkr2 (promoted, then demoted back; the quorum guard's refusals are
// unit-tested in tests/unit/nodeSpec.test.ts and exercised in tests/lab/lifecycle.test.ts).
import { Stack } from "@pulumi/pulumi/automation";
import { withSession } from "../../providers/ssh/connection";
import { HostConnection, NodeSpec, NodeSpecArgs, Volume, VolumeArgs } from "../../providers/swarm";
import { labConfig, targets } from "./labConfig";
import { ensureSwarm, inlineStack, log, managerConnection, secretKey } from "./harness";

const cfg = labConfig();
const hosts = targets(cfg);
const mgr1 = hosts.get(cfg.managers[0].name)!;
const NODE = "wkr2"; // the node whose spec the tests change
const OTHER = "wkr1"; // the node the spec moves to (replace)
const VOLUME_NODE = "wkr1";
const VOLUME = "node-vol-data";
const PREFIX = "node-test.";

/** A node's own connection through the bastion (as planCluster builds it). */
function nodeConnection(name: string): HostConnection {
    const h = [...cfg.managers, ...cfg.workers].find((x) => x.name === name);
    if (!h) throw new Error(`the lab has no host ${name}; these tests need the default lab (3 managers, 2 workers): \`npm run lab -- up\``);
    const { bastion } = managerConnection();
    return { name: h.name, host: h.privateAddress, port: h.port, user: cfg.sshUser, hostKey: h.hostKey, bastion };
}

async function sh(host: string, command: string): Promise<string> {
    const r = await withSession(hosts.get(host)!, (s) => s.exec(command));
    if (r.code !== 0) throw new Error(`\`${command}\` on ${host} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
}

interface NodeState {
    id: string;
    role: string;
    reachability?: string;
    availability: string;
    ours: Record<string, string>;
    others: Record<string, string>;
}

async function nodeState(node = NODE): Promise<NodeState> {
    const n = await withSession(mgr1, (s) => s.docker().getNode(node).inspect());
    const labels = Object.entries((n.Spec.Labels ?? {}) as Record<string, string>);
    return {
        id: n.ID,
        role: n.Spec.Role,
        reachability: n.ManagerStatus?.Reachability,
        availability: n.Spec.Availability,
        ours: Object.fromEntries(labels.filter(([k]) => k.startsWith(PREFIX))),
        others: Object.fromEntries(labels.filter(([k]) => !k.startsWith(PREFIX))),
    };
}

/** Operations other than "same" in a preview's summary. */
const changes = (summary: Record<string, number>) => Object.fromEntries(Object.entries(summary).filter(([op, n]) => op !== "same" && n > 0));

async function cleanNode(node = NODE): Promise<void> {
    const s = await nodeState(node);
    const rm = Object.keys(s.ours).map((k) => `--label-rm ${k}`).join(" ");
    if (rm) await sh(cfg.managers[0].name, `docker node update ${rm} ${node}`);
    if (s.availability !== "active") await sh(cfg.managers[0].name, `docker node update --availability active ${node}`);
    if (s.role !== "worker") await sh(cfg.managers[0].name, `docker node demote ${node}`);
}

describe("swarm:NodeSpec on wkr2, through the real engine", () => {
    let stack: Stack;
    let want: Partial<NodeSpecArgs> = {};
    let before: NodeState;
    let beforeOther: NodeState;

    beforeAll(async () => {
        await ensureSwarm();
        stack = await inlineStack("node-spec", async () => {
            const ns = new NodeSpec("node-wkr2", { connection: managerConnection(), privateKey: secretKey(), node: NODE, labelPrefixes: [PREFIX], ...want });
            return { nodeId: ns.nodeId, hostname: ns.hostname, original: ns.original };
        });
        await stack.destroy({ onOutput: log("node-destroy-before") }); // whatever an earlier run left
        await cleanNode();
        await cleanNode(OTHER);
        before = await nodeState();
        beforeOther = await nodeState(OTHER);
        expect(before.availability).toBe("active");
        expect(before.role).toBe("worker");
        // A label of ours that exists before adoption: delete() must put it back.
        await sh(cfg.managers[0].name, `docker node update --label-add ${PREFIX}pre=keep ${NODE}`);
    });

    afterAll(async () => {
        await stack?.destroy({ onOutput: log("node-destroy-after") });
        await cleanNode();
        await cleanNode(OTHER);
    });

    test("create adopts wkr2: its labels are applied (docker node inspect), the label it overwrites is remembered, other labels are untouched", async () => {
        want = { labels: { [`${PREFIX}zone`]: "a", [`${PREFIX}tier`]: "data", [`${PREFIX}pre`]: "ours" } };
        const up = await stack.up({ onOutput: log("node-up") });
        expect(up.summary.resourceChanges).toEqual({ create: 2 });
        const live = await nodeState();
        expect(live.ours).toEqual({ [`${PREFIX}zone`]: "a", [`${PREFIX}tier`]: "data", [`${PREFIX}pre`]: "ours" });
        expect(live.others).toEqual(before.others);
        expect(up.outputs.nodeId.value).toBe(live.id);
        expect(up.outputs.hostname.value).toBe(NODE);
        expect(up.outputs.original.value).toEqual({ labels: { [`${PREFIX}pre`]: "keep", [`${PREFIX}tier`]: null, [`${PREFIX}zone`]: null } });
    });

    test("preview, and preview with refresh (read normalizes the live spec), show no changes", async () => {
        expect(changes((await stack.preview({ onOutput: log("node-preview") })).changeSummary)).toEqual({});
        expect(changes((await stack.preview({ refresh: true, onOutput: log("node-preview-refresh") })).changeSummary)).toEqual({});
    });

    test("changed labels update in place: same node ID; a label dropped from the program is removed (its prefix is owned)", async () => {
        const id = (await nodeState()).id;
        want = { labels: { [`${PREFIX}zone`]: "b", [`${PREFIX}rack`]: "r1" } };
        const up = await stack.up({ onOutput: log("node-up-labels") });
        expect(up.summary.resourceChanges).toEqual({ update: 1, same: 1 });
        const live = await nodeState();
        expect(live.id).toBe(id);
        expect(live.ours).toEqual({ [`${PREFIX}zone`]: "b", [`${PREFIX}rack`]: "r1" });
    });

    test("availability drain drains wkr2, and active brings it back, in place", async () => {
        want = { ...want, availability: "drain" };
        expect((await stack.up({ onOutput: log("node-drain") })).summary.resourceChanges).toEqual({ update: 1, same: 1 });
        expect((await nodeState()).availability).toBe("drain");
        want = { ...want, availability: "active" };
        expect((await stack.up({ onOutput: log("node-active") })).summary.resourceChanges).toEqual({ update: 1, same: 1 });
        expect((await nodeState()).availability).toBe("active");
    });

    test("drift by hand (a label under node-test. and a drain) shows in preview --refresh, and up --refresh repairs it", async () => {
        await sh(cfg.managers[0].name, `docker node update --label-add ${PREFIX}x=y ${NODE} && docker node update --availability drain ${NODE}`);
        let out = "";
        const preview = await stack.preview({ refresh: true, diff: true, onOutput: (o) => (out += o) });
        expect(changes(preview.changeSummary)).toEqual({ update: 1 });
        // The refresh shows exactly the hand-made changes; the update puts them back.
        expect(out).toMatch(/~ availability\s*: "active" => "drain"/);
        expect(out).toMatch(/\+ node-test\.x\s*: "y"/);

        const up = await stack.up({ refresh: true, onOutput: log("node-repair") });
        expect(up.summary.resourceChanges?.update).toBe(1);
        const live = await nodeState();
        expect(live.ours).toEqual({ [`${PREFIX}zone`]: "b", [`${PREFIX}rack`]: "r1" });
        expect(live.availability).toBe("active");
    });

    test("role: wkr2 is promoted to a reachable manager and demoted back to a worker, in place (same node ID, labels kept)", async () => {
        const id = (await nodeState()).id;
        want = { ...want, role: "manager" };
        expect((await stack.up({ onOutput: log("node-promote") })).summary.resourceChanges).toEqual({ update: 1, same: 1 });
        let live = await nodeState();
        expect([live.id, live.role, live.reachability]).toEqual([id, "manager", "reachable"]);
        expect(live.ours).toEqual({ [`${PREFIX}zone`]: "b", [`${PREFIX}rack`]: "r1" });
        expect(changes((await stack.preview({ refresh: true, onOutput: log("node-promote-preview") })).changeSummary)).toEqual({});

        want = { ...want, role: "worker" };
        expect((await stack.up({ onOutput: log("node-demote") })).summary.resourceChanges).toEqual({ update: 1, same: 1 });
        live = await nodeState();
        expect([live.id, live.role, live.reachability]).toEqual([id, "worker", undefined]);
        const managers = await sh(cfg.managers[0].name, "docker node ls --filter role=manager --format '{{.Hostname}}'");
        expect(managers.trim().split("\n").sort()).toEqual(cfg.managers.map((m) => m.name).sort());
    });

    test("replace: the spec moved to wkr1 restores wkr2 first (as before adoption), then adopts wkr1", async () => {
        const { role: _role, ...rest } = want;
        want = { ...rest, node: OTHER };
        const up = await stack.up({ onOutput: log("node-replace") });
        expect(up.summary.resourceChanges).toEqual({ replace: 1, same: 1 });
        const old = await nodeState();
        expect(old.ours).toEqual({ [`${PREFIX}pre`]: "keep" });
        expect([old.role, old.availability]).toEqual(["worker", "active"]);
        const moved = await nodeState(OTHER);
        expect(moved.ours).toEqual({ [`${PREFIX}zone`]: "b", [`${PREFIX}rack`]: "r1" });
        expect(moved.others).toEqual(beforeOther.others);
        expect(up.outputs.hostname.value).toBe(OTHER);
        expect(up.outputs.nodeId.value).toBe(moved.id);
    });

    test("destroy restores the original spec: paused wkr1 is active again, its labels are as they were before adoption", async () => {
        want = { ...want, availability: "pause" };
        await stack.up({ onOutput: log("node-pause") });
        expect((await nodeState(OTHER)).availability).toBe("pause");
        const res = await stack.destroy({ onOutput: log("node-destroy") });
        expect(res.summary.resourceChanges).toEqual({ delete: 2 });
        const live = await nodeState(OTHER);
        expect(live.availability).toBe("active");
        expect(live.ours).toEqual({});
        expect(live.others).toEqual(beforeOther.others);
        expect((await nodeState()).others).toEqual(before.others);
    });
});

describe("swarm:Volume on wkr1, through the real engine", () => {
    let stack: Stack;
    let want: Partial<VolumeArgs> = {};
    const image = cfg.demo.image;

    async function inspectVolume(): Promise<{ Driver: string; Options: Record<string, string> | null; Labels: Record<string, string> | null } | undefined> {
        const out = await sh(VOLUME_NODE, `docker volume ls -q --filter name=^${VOLUME}$`);
        if (!out.trim()) return undefined;
        return JSON.parse(await sh(VOLUME_NODE, `docker volume inspect ${VOLUME}`))[0];
    }
    const opts = (size: string) => ({ type: "tmpfs", device: "tmpfs", o: `size=${size}` });
    const cleanup = () => sh(VOLUME_NODE, `docker rm -f node-vol-user >/dev/null 2>&1; docker volume rm ${VOLUME} >/dev/null 2>&1; true`);

    beforeAll(async () => {
        await ensureSwarm();
        stack = await inlineStack("node-vol", async () => {
            const v = new Volume(VOLUME, { connection: nodeConnection(VOLUME_NODE), privateKey: secretKey(), name: VOLUME, ...want });
            return { hostname: v.hostname, constraint: v.constraint };
        });
        await stack.destroy({ onOutput: log("vol-destroy-before") });
        await cleanup();
    });

    afterAll(async () => {
        await cleanup();
        await stack?.destroy({ onOutput: log("vol-destroy-after") });
    });

    test("create makes the volume on wkr1 with its driver options and labels, and outputs the node's hostname and constraint", async () => {
        want = { driverOpts: opts("16m"), labels: { [`${PREFIX}owner`]: "node.test" } };
        const up = await stack.up({ onOutput: log("vol-up") });
        expect(up.summary.resourceChanges).toEqual({ create: 2 });
        expect(await inspectVolume()).toMatchObject({ Driver: "local", Options: opts("16m"), Labels: { [`${PREFIX}owner`]: "node.test" } });
        expect(up.outputs.hostname.value).toBe(VOLUME_NODE);
        expect(up.outputs.constraint.value).toBe(`node.hostname==${VOLUME_NODE}`);
    });

    test("read: preview with refresh shows no changes", async () => {
        expect(changes((await stack.preview({ refresh: true, onOutput: log("vol-preview") })).changeSummary)).toEqual({});
    });

    test("a driverOpts change replaces the volume (the old one removed first, same name)", async () => {
        want = { ...want, driverOpts: opts("32m") };
        const preview = await stack.preview({ onOutput: log("vol-preview-replace") });
        expect(changes(preview.changeSummary)).toEqual({ replace: 1 });
        const up = await stack.up({ onOutput: log("vol-replace") });
        expect(up.summary.resourceChanges).toEqual({ replace: 1, same: 1 });
        expect((await inspectVolume())?.Options).toEqual(opts("32m"));
    });

    test("a volume removed by hand shows in preview --refresh, and up --refresh recreates it", async () => {
        await sh(VOLUME_NODE, `docker volume rm ${VOLUME}`);
        const preview = await stack.preview({ refresh: true, onOutput: log("vol-preview-gone") });
        expect(changes(preview.changeSummary)).toEqual({ create: 1 });
        const up = await stack.up({ refresh: true, onOutput: log("vol-recreate") });
        expect(up.summary.resourceChanges?.create).toBe(1);
        expect((await inspectVolume())?.Options).toEqual(opts("32m"));
    });

    test("delete refuses while a container uses the volume, naming it; with forceRemove it removes the container and the volume", async () => {
        await sh(VOLUME_NODE, `docker run -d --name node-vol-user -v ${VOLUME}:/data ${image} sleep 600`);
        const refused = await stack.destroy({ onOutput: log("vol-destroy-refused") }).then(
            () => "destroy succeeded",
            (err: Error) => err.message,
        );
        expect(refused).toContain(`volume ${VOLUME} on ${VOLUME_NODE} is still in use, by node-vol-user (running)`);
        expect(refused).toContain("volume is in use"); // the daemon's own text
        expect(refused).toContain("set forceRemove: true");
        expect(await inspectVolume()).toBeDefined();

        want = { ...want, forceRemove: true };
        expect((await stack.up({ onOutput: log("vol-force") })).summary.resourceChanges).toEqual({ update: 1, same: 1 });
        const res = await stack.destroy({ onOutput: log("vol-destroy") });
        expect(res.summary.resourceChanges).toEqual({ delete: 2 });
        expect(await inspectVolume()).toBeUndefined();
        expect((await sh(VOLUME_NODE, "docker ps -aq --filter name=^node-vol-user$")).trim()).toBe("");
    });
});
