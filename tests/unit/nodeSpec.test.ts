import { PROVIDER_VERSION, isRaftTransient } from "../../providers/swarm/common";
import { installMocks, Registered, valueOf } from "./mocks";
import {
    DockerNodeSpec,
    findNode,
    nodeSpecDiff,
    nodeSpecFromLive,
    NodeSpecFields,
    NodeView,
    noSuchNode,
    planNodeSpec,
    roleChangeProblem,
} from "../../providers/swarm/nodeSpecPlan";
import { NodeSpec } from "../../providers/swarm";

const spec = (labels: Record<string, string>, extra: Partial<DockerNodeSpec> = {}): DockerNodeSpec => ({ Labels: labels, Role: "worker", Availability: "active", ...extra });

describe("planNodeSpec: create adopts the node and remembers what it changes", () => {
    const live = spec({ "ops.rack": "r1", "etl.zone": "old", "etl.stray": "x" });
    const want: NodeSpecFields = { labels: { "etl.zone": "a", "etl.tier": "data" }, labelPrefixes: ["etl."], availability: "drain" };

    test("sets the wanted labels and availability, removes undeclared labels under owned prefixes, leaves other labels alone", () => {
        expect(planNodeSpec(live, want).spec).toEqual({
            Labels: { "etl.tier": "data", "etl.zone": "a", "ops.rack": "r1" },
            Role: "worker",
            Availability: "drain",
        });
    });

    test("remembers the value each managed field had before (null: the label was absent)", () => {
        expect(planNodeSpec(live, want).original).toEqual({
            labels: { "etl.zone": "old", "etl.stray": "x", "etl.tier": null },
            availability: "active",
        });
    });

    test("without labelPrefixes only the listed keys are managed", () => {
        const plan = planNodeSpec(live, { labels: { "etl.zone": "a" } });
        expect(plan.spec.Labels).toEqual({ "etl.zone": "a", "etl.stray": "x", "ops.rack": "r1" });
        expect(plan.original).toEqual({ labels: { "etl.zone": "old" } });
    });

    test("keeps the spec's other fields (Name) and leaves role and availability alone when not declared", () => {
        const plan = planNodeSpec({ ...spec({}), Name: "n", Role: "manager", Availability: "pause" }, { labels: { a: "1" } });
        expect(plan.spec).toEqual({ Name: "n", Labels: { a: "1" }, Role: "manager", Availability: "pause" });
    });
});

describe("planNodeSpec: update and delete restore what is no longer managed", () => {
    const original = planNodeSpec(spec({ "ops.rack": "r1", "etl.zone": "old" }), { labels: { "etl.zone": "a", "etl.tier": "data" }, availability: "drain" });
    const applied: DockerNodeSpec = original.spec;
    const prev = { fields: { labels: { "etl.zone": "a", "etl.tier": "data" }, availability: "drain" as const }, original: original.original };

    test("delete (want nothing) puts every managed field back as it was", () => {
        expect(planNodeSpec(applied, {}, prev).spec).toEqual(spec({ "ops.rack": "r1", "etl.zone": "old" }));
    });

    test("a label dropped from the program gets its original value back; a new one is set and remembered", () => {
        const plan = planNodeSpec(applied, { labels: { "etl.tier": "batch", "etl.new": "n" }, availability: "drain" }, prev);
        expect(plan.spec.Labels).toEqual({ "etl.new": "n", "etl.tier": "batch", "etl.zone": "old", "ops.rack": "r1" });
        expect(plan.original).toEqual({ labels: { "etl.tier": null, "etl.new": null }, availability: "active" });
    });

    test("a label someone else set after adoption is remembered as it was when this resource first took it", () => {
        const later = { ...applied, Labels: { ...applied.Labels, "ops.owner": "team-b" } };
        const plan = planNodeSpec(later, { ...prev.fields, labels: { ...prev.fields.labels, "ops.owner": "etl" } }, prev);
        expect(plan.original.labels["ops.owner"]).toBe("team-b");
        expect(planNodeSpec(plan.spec, {}, { fields: { labels: { ...prev.fields.labels, "ops.owner": "etl" } }, original: plan.original }).spec.Labels).toEqual({
            "etl.zone": "old",
            "ops.owner": "team-b",
            "ops.rack": "r1",
        });
    });

    test("availability no longer declared goes back to the original; its memory is dropped", () => {
        const plan = planNodeSpec(applied, { labels: prev.fields.labels }, prev);
        expect(plan.spec.Availability).toBe("active");
        expect(plan.original.availability).toBeUndefined();
    });

    test("a declared label removed by hand (refresh dropped it from the outputs) still restores the true original", () => {
        const drifted = { ...applied, Labels: { "ops.rack": "r1", "etl.tier": "data" } };
        const refreshed = { fields: { labels: { "etl.tier": "data" }, availability: "drain" as const }, original: original.original };
        const up = planNodeSpec(drifted, prev.fields, refreshed);
        expect(up.spec.Labels).toEqual(applied.Labels);
        expect(planNodeSpec(up.spec, {}, { fields: prev.fields, original: up.original }).spec.Labels).toEqual({ "ops.rack": "r1", "etl.zone": "old" });
    });

    test("a label added by hand under an owned prefix is removed, and not restored on delete", () => {
        const owned = { labels: { "etl.zone": "a" }, labelPrefixes: ["etl."] };
        const created = planNodeSpec(spec({ "etl.pre": "keep" }), owned);
        const drifted = { ...created.spec, Labels: { ...created.spec.Labels, "etl.x": "y" } };
        const up = planNodeSpec(drifted, owned, { fields: owned, original: created.original });
        expect(up.spec.Labels).toEqual({ "etl.zone": "a" });
        expect(planNodeSpec(up.spec, {}, { fields: owned, original: up.original }).spec.Labels).toEqual({ "etl.pre": "keep" });
    });

    test("a role change is planned and restored like availability", () => {
        const promoted = planNodeSpec(spec({}), { role: "manager" });
        expect(promoted.spec.Role).toBe("manager");
        expect(promoted.original).toEqual({ labels: {}, role: "worker" });
        expect(planNodeSpec(promoted.spec, {}, { fields: { role: "manager" }, original: promoted.original }).spec.Role).toBe("worker");
    });
});

describe("nodeSpecFromLive: read normalizes the live spec to what the resource manages", () => {
    const declared: NodeSpecFields = { labels: { "etl.zone": "a" }, labelPrefixes: ["etl."], availability: "active" };

    test("an unchanged node reads back as the declared fields (no diff)", () => {
        const live = planNodeSpec(spec({ "ops.rack": "r1" }), declared).spec;
        expect(nodeSpecFromLive(live, declared)).toEqual(declared);
        expect(nodeSpecDiff("n1", { ...nodeSpecFromLive(live, declared), node: "wkr2", nodeId: "n1" }, { ...declared, node: "wkr2" }).changes).toBe(false);
    });

    test("a label added under the owned prefix and a drain by hand show exactly those changes", () => {
        const live = spec({ "etl.zone": "a", "etl.x": "y", "ops.other": "z" }, { Availability: "drain", Role: "manager" });
        expect(nodeSpecFromLive(live, declared)).toEqual({ labels: { "etl.x": "y", "etl.zone": "a" }, labelPrefixes: ["etl."], availability: "drain" });
        const d = nodeSpecDiff("n1", { ...nodeSpecFromLive(live, declared), node: "wkr2", nodeId: "n1" }, { ...declared, node: "wkr2" });
        expect(d).toMatchObject({ changes: true, replaces: [] });
        expect(Object.keys(d.detailedDiff).sort()).toEqual(["availability", "labels"]);
    });

    test("role and availability are not reported when not declared", () => {
        expect(nodeSpecFromLive(spec({ a: "1", b: "2" }, { Availability: "pause" }), { labels: { a: "1" } })).toEqual({ labels: { a: "1" } });
    });
});

describe("nodeSpecDiff", () => {
    const olds = { node: "wkr2", nodeId: "n1", labels: { a: "1" }, connection: { host: "h" }, providerVersion: PROVIDER_VERSION };

    test("labels, availability and role update in place", () => {
        const d = nodeSpecDiff("n1", olds, { ...olds, labels: { a: "2" }, availability: "drain", role: "manager" });
        expect(d.replaces).toEqual([]);
        expect(d.detailedDiff).toEqual({
            labels: { kind: "update", inputDiff: true },
            availability: { kind: "update", inputDiff: true },
            role: { kind: "update", inputDiff: true },
        });
    });

    test("another node replaces, restoring the old one first", () => {
        expect(nodeSpecDiff("n1", olds, { ...olds, node: "wkr1" })).toMatchObject({ changes: true, replaces: ["node"], deleteBeforeReplace: true });
    });

    test("a node that rejoined (refresh found another ID for its hostname) replaces", () => {
        expect(nodeSpecDiff("n1", { ...olds, nodeId: "n2" }, olds)).toMatchObject({ changes: true, replaces: ["node"] });
    });

    test("a new connection or provider version is an update without changes on the node", () => {
        expect(nodeSpecDiff("n1", olds, { ...olds, connection: { host: "h2" } })).toMatchObject({ changes: true, replaces: [], detailedDiff: {} });
        expect(nodeSpecDiff("n1", olds, { ...olds }).changes).toBe(false);
    });
});

const node = (id: string, role: "manager" | "worker", reachability?: string, state = "ready"): NodeView => ({ id, hostname: id, role, state, reachability });

describe("findNode", () => {
    const nodes = [node("mgr1", "manager", "reachable"), { ...node("old", "worker", undefined, "down"), hostname: "wkr2" }, { ...node("new", "worker"), hostname: "wkr2" }];

    test("by ID, or by hostname preferring the live entry over a stale one", () => {
        expect(findNode(nodes, "mgr1")?.id).toBe("mgr1");
        expect(findNode(nodes, "wkr2")?.id).toBe("new");
        expect(findNode(nodes, "old")?.id).toBe("old");
        expect(findNode(nodes, "nope")).toBeUndefined();
    });

    test("an ambiguous hostname is an error naming the IDs and the fix", () => {
        expect(() => findNode([...nodes, { ...node("new2", "worker"), hostname: "wkr2" }], "wkr2")).toThrow(
            'node "wkr2" is ambiguous: 2 nodes of the swarm have that hostname (new ready, new2 ready). Fix: set node to one of these IDs, or remove the stale entries with `docker node rm`.',
        );
    });

    test("a missing node names the members", () => {
        expect(noSuchNode("wkr9", nodes).message).toBe(
            'no node "wkr9" in the swarm (nodes: mgr1, wkr2, wkr2). Fix: set node to the hostname or ID of a member (`docker node ls` on a manager), or join the host first.',
        );
    });
});

describe("roleChangeProblem: the quorum guard", () => {
    const three = [node("mgr1", "manager", "reachable"), node("mgr2", "manager", "reachable"), node("mgr3", "manager", "reachable"), node("wkr1", "worker")];

    test("allows demoting one of three reachable managers, and promoting a ready worker", () => {
        expect(roleChangeProblem(three, "mgr2", "worker", "mgr1")).toBeUndefined();
        expect(roleChangeProblem(three, "wkr1", "manager", "mgr1")).toBeUndefined();
        expect(roleChangeProblem(three, "mgr2", "manager", "mgr1")).toBeUndefined(); // no change
    });

    test("refuses to demote the last manager", () => {
        expect(roleChangeProblem([node("mgr1", "manager", "reachable"), node("wkr1", "worker")], "mgr1", "worker")).toBe(
            'refusing to demote mgr1: it is the last manager of the swarm, which cannot run without one. Fix: promote another node first (role: "manager"), then demote mgr1.',
        );
    });

    test("refuses to demote the manager the provider connects through", () => {
        expect(roleChangeProblem(three, "mgr1", "worker", "mgr1")).toBe(
            "refusing to demote mgr1: it is a manager this resource connects through (its connection or an alternate), which would cut the provider off the swarm. Fix: set connection and alternates to other managers first, then demote mgr1.",
        );
    });

    test("refuses to demote a manager among the connection's alternates (the failover hosts)", () => {
        expect(roleChangeProblem(three, "mgr3", "worker", "mgr1", ["mgr1", "mgr2", "mgr3"])).toMatch(/^refusing to demote mgr3: it is a manager this resource connects through/);
    });

    test("refuses a demotion that leaves no reachable majority", () => {
        const oneDown = [node("mgr1", "manager", "reachable"), node("mgr2", "manager", "reachable"), node("mgr3", "manager", "unreachable", "down")];
        expect(roleChangeProblem(oneDown, "mgr2", "worker", "mgr1")).toBe(
            "refusing to demote mgr2: 1 of 2 managers would be reachable, and Raft needs a majority (more than 1) to keep the swarm's quorum. " +
                "Fix: bring the unreachable managers back first (mgr3), or remove them with `docker node demote`/`docker node rm`.",
        );
        // Demoting the unreachable one is what restores a healthy majority.
        expect(roleChangeProblem(oneDown, "mgr3", "worker", "mgr1")).toBeUndefined();
    });

    test("refuses to promote a node that is not ready", () => {
        expect(roleChangeProblem([...three, node("wkr2", "worker", undefined, "down")], "wkr2", "manager", "mgr1")).toBe(
            "refusing to promote wkr2: its state is down, and a manager that cannot vote weakens the quorum. Fix: bring wkr2 back (Ready in `docker node ls`), then run pulumi up again.",
        );
    });

    test("refuses a promotion into a swarm that has lost its majority", () => {
        const lost = [node("mgr1", "manager", "reachable"), node("mgr2", "manager", "unreachable"), node("mgr3", "manager", "unreachable"), node("wkr1", "worker")];
        expect(roleChangeProblem(lost, "wkr1", "manager", "mgr1")).toMatch(/^refusing to promote wkr1: 2 of 4 managers would be reachable/);
    });
});

describe("NodeSpec resource", () => {
    let registered: Registered[];
    beforeAll(() => {
        registered = installMocks();
    });

    test("registers type pulumi-nodejs:dynamic/swarm:NodeSpec with the declared fields and the provider version", async () => {
        const ns = new NodeSpec("node-wkr2", { connection: { name: "mgr1", host: "h", port: 22, user: "root", hostKey: "k" }, privateKey: "key", node: "wkr2", labels: { "etl.zone": "a" } });
        await valueOf(ns.urn);
        const r = registered.find((x) => x.name === "node-wkr2")!;
        expect(r.type).toBe("pulumi-nodejs:dynamic/swarm:NodeSpec");
        expect(r.inputs).toMatchObject({ node: "wkr2", labels: { "etl.zone": "a" }, providerVersion: PROVIDER_VERSION });
        expect(r.inputs.availability).toBeUndefined();
    });
});

describe("isRaftTransient: a manager's answer while Raft elects a leader is retried, other errors are not", () => {
    const daemonError = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), { statusCode });
    test.each([
        [daemonError(500, "rpc error: code = DeadlineExceeded desc = context deadline exceeded"), true],
        [daemonError(503, "The swarm does not have a leader. It's possible that too few managers are online."), true],
        [daemonError(500, "rpc error: code = Unavailable desc = connection error"), true],
        [daemonError(400, "rpc error: code = DeadlineExceeded desc = context deadline exceeded"), false],
        [daemonError(500, "rpc error: code = InvalidArgument desc = bad label"), false],
        [daemonError(404, "node wkr9 not found"), false],
    ])("%s -> %s", (err, expected) => {
        expect(isRaftTransient(err)).toBe(expected);
    });
});
