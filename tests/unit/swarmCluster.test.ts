import * as pulumi from "@pulumi/pulumi";
import { HOST_KEY, installMocks, Registered, valueOf } from "./mocks";
import { planCluster, SwarmCluster, SwarmClusterArgs } from "../../components/cluster/swarmCluster";

const args: SwarmClusterArgs = {
    bastion: { name: "bastion", publicAddress: "198.18.10.2", hostKey: HOST_KEY },
    managers: [1, 2, 3].map((i) => ({ name: `mgr${i}`, publicAddress: `198.18.10.${10 + i}`, privateAddress: `198.18.20.${10 + i}`, hostKey: HOST_KEY, availability: i === 2 ? ("drain" as const) : undefined })),
    workers: [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY, labels: i === 1 ? { "etl.storage": "ssd" } : undefined })),
    sshUser: "root",
    privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n",
};

describe("SwarmCluster", () => {
    let registered: Registered[];
    let cluster: SwarmCluster;

    beforeAll(() => {
        registered = installMocks();
        cluster = new SwarmCluster("swarm", args);
    });

    test("registers the component, a check, a membership and a node spec per host, and one init, with exact types and names", async () => {
        await Promise.all(cluster.members.map((m) => valueOf(m.urn)));
        const hosts = ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"];
        // Registration order follows dependsOn (mgr3 waits for mgr2), so compare sorted.
        expect(registered.map((r) => [r.type, r.name]).sort()).toEqual(
            [
                ...hosts.map((h) => ["pulumi-nodejs:dynamic/swarm:HostCheck", `swarm-${h}-check`]),
                ...hosts.map((h) => ["pulumi-nodejs:dynamic/swarm:NodeSpec", `swarm-${h}-spec`]),
                ["pulumi-nodejs:dynamic/swarm:SwarmInit", "swarm"],
                ...hosts.map((h) => ["pulumi-nodejs:dynamic/swarm:SwarmJoin", `swarm-${h}`]),
                ["swarm:cluster:SwarmCluster", "swarm"],
            ].sort(),
        );
    });

    test("children are parented to the component", async () => {
        const urns = await Promise.all(cluster.members.map((m) => valueOf(m.urn)));
        expect(urns).toHaveLength(11);
        for (const urn of urns) expect(urn).toMatch(/::swarm:cluster:SwarmCluster\$pulumi-nodejs:dynamic\/swarm:(SwarmInit|SwarmJoin|NodeSpec)::swarm/);
    });

    test("every host is checked: Docker version, and the other nodes' Swarm ports (2377 on managers, 7946 everywhere)", () => {
        const check = registered.find((r) => r.name === "swarm-wkr1-check")!.inputs;
        expect(check).toMatchObject({ minDockerVersion: "20.10", installDocker: false });
        expect(check.probes).toEqual([
            { name: "mgr1", host: "198.18.20.11", port: 2377 },
            { name: "mgr1", host: "198.18.20.11", port: 7946 },
            { name: "mgr2", host: "198.18.20.12", port: 2377 },
            { name: "mgr2", host: "198.18.20.12", port: 7946 },
            { name: "mgr3", host: "198.18.20.13", port: 2377 },
            { name: "mgr3", host: "198.18.20.13", port: 7946 },
            { name: "wkr2", host: "198.18.20.22", port: 7946 },
        ]);
    });

    test("node specs carry each host's labels and availability, through the managers", () => {
        const spec = registered.find((r) => r.name === "swarm-wkr1-spec")!.inputs;
        expect(spec).toMatchObject({ node: "node-wkr1", labels: { "etl.storage": "ssd" }, availability: "active" });
        expect(registered.find((r) => r.name === "swarm-mgr2-spec")!.inputs).toMatchObject({ labels: {}, availability: "drain" });
        expect((spec.connection as { name: string }).name).toBe("mgr1");
    });

    test("binds Swarm traffic to the private address and connects through the pinned bastion", () => {
        const init = registered.find((r) => r.name === "swarm" && r.type.endsWith("SwarmInit"))!.inputs;
        expect(init.advertiseAddr).toBe("198.18.20.11");
        expect(init.listenAddr).toBe("198.18.20.11:2377");
        expect(init.dataPathAddr).toBe("198.18.20.11");
        expect(init.connection).toEqual({
            name: "mgr1",
            host: "198.18.20.11",
            port: 22,
            user: "root",
            hostKey: HOST_KEY,
            bastion: { name: "bastion", host: "198.18.10.2", port: 22, user: "root", hostKey: HOST_KEY },
        });
    });

    test("managers join with the manager token, workers with the worker token, through the first manager", () => {
        const join = (n: string) => registered.find((r) => r.name === `swarm-${n}`)!.inputs;
        expect(join("mgr2")).toMatchObject({ role: "manager", joinToken: "SWMTKN-1-manager", remoteAddrs: ["198.18.20.11:2377"], swarmId: "swarm-id-1" });
        expect(join("wkr2")).toMatchObject({ role: "worker", joinToken: "SWMTKN-1-worker", remoteAddrs: ["198.18.20.11:2377"], advertiseAddr: "198.18.20.22" });
    });

    test("node operations go through the first manager, with the other managers as alternates", () => {
        const manager = registered.find((r) => r.name === "swarm-wkr1")!.inputs.manager as Record<string, unknown>;
        expect(manager).toMatchObject({ name: "mgr1", host: "198.18.20.11" });
        expect(manager.alternates).toEqual([
            { name: "mgr2", host: "198.18.20.12", port: 22, user: "root", hostKey: HOST_KEY },
            { name: "mgr3", host: "198.18.20.13", port: 22, user: "root", hostKey: HOST_KEY },
        ]);
    });

    test("join tokens and the unlock key are secret outputs", async () => {
        expect(await pulumi.isSecret(cluster.workerToken)).toBe(true);
        expect(await pulumi.isSecret(cluster.managerToken)).toBe(true);
        expect(await pulumi.isSecret(cluster.unlockKey)).toBe(true);
    });

    test("the init carries autolock and the token rotation counter (off and 0 by default)", () => {
        expect(registered.find((r) => r.type.endsWith("SwarmInit"))!.inputs).toMatchObject({ autolock: false, joinTokenRotation: 0 });
    });

    test("the first manager has a membership too (it adopts what init made), so it can be retired like any node", () => {
        expect(registered.find((r) => r.name === "swarm-mgr1" && r.type.endsWith("SwarmJoin"))!.inputs).toMatchObject({ role: "manager", advertiseAddr: "198.18.20.11" });
    });

    test("the second manager joins only after the first join finished (managers one at a time)", () => {
        const order = registered.map((r) => r.name);
        expect(order.indexOf("swarm-mgr3")).toBeGreaterThan(order.indexOf("swarm-mgr2"));
    });

    test("nodes lists every node with its role", async () => {
        expect(await valueOf(cluster.nodes)).toEqual([
            { name: "mgr1", role: "manager", nodeId: "node-mgr1", hostname: "mgr1" },
            { name: "mgr2", role: "manager", nodeId: "node-mgr2", hostname: "mgr2" },
            { name: "mgr3", role: "manager", nodeId: "node-mgr3", hostname: "mgr3" },
            { name: "wkr1", role: "worker", nodeId: "node-wkr1", hostname: "wkr1" },
            { name: "wkr2", role: "worker", nodeId: "node-wkr2", hostname: "wkr2" },
        ]);
    });
});

describe("planCluster", () => {
    test("the first manager initializes; every host has a membership, managers (in order) before workers", () => {
        const plan = planCluster(args);
        expect(plan.first.host.name).toBe("mgr1");
        expect(plan.members.map((j) => `${j.host.name}:${j.role}`)).toEqual(["mgr1:manager", "mgr2:manager", "mgr3:manager", "wkr1:worker", "wkr2:worker"]);
    });

    test("a per-host SSH user wins over sshUser", () => {
        const plan = planCluster({ ...args, workers: [{ name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY, user: "admin" }] });
        expect(plan.members.find((m) => m.host.name === "wkr1")!.connection.user).toBe("admin");
        expect(plan.access.nodes.find((n) => n.name === "wkr1")!.user).toBe("admin");
    });

    test("hostCheck.ports false probes nothing", () => {
        expect(planCluster({ ...args, hostCheck: { ports: false } }).members.every((m) => m.probes.length === 0)).toBe(true);
    });

    test("refuses a cluster without managers", () => {
        expect(() => planCluster({ ...args, managers: [] })).toThrow("SwarmCluster needs at least one manager");
    });
});
