import * as pulumi from "@pulumi/pulumi";
import { HOST_KEY, installMocks, Registered, valueOf } from "./mocks";
import { planCluster, SwarmCluster, SwarmClusterArgs } from "../../components/cluster/swarmCluster";

const args: SwarmClusterArgs = {
    bastion: { name: "bastion", publicAddress: "198.18.10.2", hostKey: HOST_KEY },
    managers: [1, 2, 3].map((i) => ({ name: `mgr${i}`, publicAddress: `198.18.10.${10 + i}`, privateAddress: `198.18.20.${10 + i}`, hostKey: HOST_KEY })),
    workers: [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY })),
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

    test("registers the component, one init on the first manager and one join per other node, with exact types and names", async () => {
        await valueOf(cluster.nodes);
        // Registration order follows dependsOn (mgr3 waits for mgr2), so compare sorted.
        expect(registered.map((r) => [r.type, r.name]).sort()).toEqual([
            ["pulumi-nodejs:dynamic/swarm:SwarmInit", "swarm-mgr1"],
            ["pulumi-nodejs:dynamic/swarm:SwarmJoin", "swarm-mgr2"],
            ["pulumi-nodejs:dynamic/swarm:SwarmJoin", "swarm-mgr3"],
            ["pulumi-nodejs:dynamic/swarm:SwarmJoin", "swarm-wkr1"],
            ["pulumi-nodejs:dynamic/swarm:SwarmJoin", "swarm-wkr2"],
            ["swarm:cluster:SwarmCluster", "swarm"],
        ]);
    });

    test("children are parented to the component", async () => {
        const urns = await Promise.all(cluster.members.map((m) => valueOf(m.urn)));
        for (const urn of urns) expect(urn).toMatch(/::swarm:cluster:SwarmCluster\$pulumi-nodejs:dynamic\/swarm:Swarm(Init|Join)::swarm-/);
    });

    test("binds Swarm traffic to the private address and connects through the pinned bastion", () => {
        const init = registered.find((r) => r.name === "swarm-mgr1")!.inputs;
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

    test("join tokens are secret outputs", async () => {
        expect(await pulumi.isSecret(cluster.workerToken)).toBe(true);
        expect(await pulumi.isSecret(cluster.managerToken)).toBe(true);
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
    test("the first manager initializes; the rest join in order, managers before workers", () => {
        const plan = planCluster(args);
        expect(plan.first.host.name).toBe("mgr1");
        expect(plan.joins.map((j) => `${j.host.name}:${j.role}`)).toEqual(["mgr2:manager", "mgr3:manager", "wkr1:worker", "wkr2:worker"]);
    });

    test("refuses a cluster without managers", () => {
        expect(() => planCluster({ ...args, managers: [] })).toThrow("SwarmCluster needs at least one manager");
    });
});
