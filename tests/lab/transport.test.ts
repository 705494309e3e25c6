// The transport against the lab: pooled connections, another manager when the configured one is
// down, a clear error and an untouched state when the bastion is down, refused host keys.
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { closeAllSessions, handshakeCount, withSession } from "../../providers/ssh/connection";
import { Network } from "../../providers/swarm/network";
import { countHandshakes } from "./sshdLog";
import { ensureSwarm, inlineStack, managerConnection, requiredEnv, secretKey, sleepingServices } from "./harness";
import { labConfig, targets } from "./labConfig";
import { labShell } from "./labShell";

const cfg = labConfig();
const hosts = targets(cfg);
const mgr1 = hosts.get("mgr1")!;
const endpoint = (name: string) => {
    const { bastion: _b, privateKey: _k, alternates: _a, ...e } = hosts.get(name)!;
    return e;
};

function stateFile(stack: string): string {
    const backend = requiredEnv("PULUMI_BACKEND_URL").replace(/^file:\/\//, "");
    return path.join(backend, ".pulumi/stacks/swarm-etl-tests", `${stack}.json`);
}
/**
 * The stack's resources as the checkpoint records them. The file's metadata may change, and a
 * secret is encrypted anew (another nonce) each time the checkpoint is written: both are left out.
 */
const resourcesOf = (f: string) => {
    const cp = JSON.parse(fs.readFileSync(f, "utf8"), (_k, v) => (v && typeof v === "object" && "ciphertext" in v && "4dabf18193072939515e22adb298388d" in v ? "[secret]" : v));
    const rs = (cp.checkpoint?.latest?.resources ?? []) as Record<string, unknown>[];
    return rs.map(({ urn, id, inputs, outputs }) => ({ urn, id, inputs, outputs }));
};

describe("pooled SSH transport", () => {
    afterEach(closeAllSessions);

    test("twenty concurrent operations on one manager share one bastion and one node handshake", async () => {
        const before = handshakeCount();
        const names = await Promise.all(Array.from({ length: 20 }, () => withSession(mgr1, async (s) => (await s.docker().info()).Name as string)));
        expect(new Set(names)).toEqual(new Set(["mgr1"]));
        expect(handshakeCount() - before).toBe(2);
    });

    test("a pooled connection that died is replaced before a request is sent on it", async () => {
        const name = await withSession(mgr1, async (s) => {
            await closeAllSessions(); // the connection this session holds is gone
            const info = await s.docker().info();
            const hostname = (await s.exec("hostname")).stdout.trim();
            return `${info.Name}/${hostname}`;
        });
        expect(name).toBe("mgr1/mgr1");
    });

    test("idle connections are closed, but never a bastion connection that a host connection runs through", async () => {
        process.env.SWARM_ETL_SSH_IDLE_MS = "300";
        await closeAllSessions(); // the pool's timer starts anew with the short idle time
        try {
            const before = handshakeCount();
            const name = await withSession(mgr1, async (s) => {
                await new Promise((r) => setTimeout(r, 1500)); // the bastion connection is idle meanwhile
                return (await s.docker().info()).Name as string;
            });
            expect(name).toBe("mgr1");
            expect(handshakeCount() - before).toBe(2); // nothing had to be reconnected
            await new Promise((r) => setTimeout(r, 1500)); // now both are idle: closed
            await withSession(mgr1, async (s) => s.exec("true"));
            expect(handshakeCount() - before).toBe(4);
        } finally {
            delete process.env.SWARM_ETL_SSH_IDLE_MS;
            await closeAllSessions();
        }
    });

    test("a configured manager that cannot be reached is replaced by the next manager", async () => {
        const ghost = { ...mgr1, name: "ghost", host: "198.18.20.99", alternates: [endpoint("mgr2")] };
        const hostname = await withSession(ghost, async (s) => (await s.exec("hostname")).stdout.trim());
        expect(hostname).toBe("mgr2");
    });

    test("a reachable host whose Docker daemon does not answer is replaced by the next manager", async () => {
        // The bastion runs sshd but no dockerd; reached here through itself, like a node.
        const noDocker = { ...mgr1, ...endpoint(cfg.bastion.name), alternates: [endpoint("mgr3")] };
        const name = await withSession(noDocker, async (s) => (await s.docker().info()).Name as string);
        expect(name).toBe("mgr3");
    });

    test("when no manager answers, the error names every one tried", async () => {
        const ghost = { ...mgr1, name: "ghost", host: "198.18.20.99", connectTimeoutMs: 3000, alternates: [{ ...endpoint("mgr2"), name: "ghost2", host: "198.18.20.98" }] };
        await expect(withSession(ghost, async () => "reached")).rejects.toThrow(/no manager of the swarm could be reached \(tried ghost, ghost2\)/);
    });
});

describe("failures through the engine", () => {
    let stack: Stack;
    const name = "transport-failures";

    beforeAll(async () => {
        await ensureSwarm();
        stack = await inlineStack(name, async () => {
            const net = new Network("tr-net", { connection: managerConnection(), privateKey: secretKey(), name: "tr-net" });
            return { id: net.networkId };
        });
        await stack.up();
    });

    afterAll(async () => {
        await labShell(`ip netns exec swetl-bastion iptables -D INPUT -p tcp --dport 22 --syn -j REJECT 2>/dev/null || true`);
        await stack.destroy();
    });

    test("bastion down: refresh fails naming the bastion, and the state is left as it was", async () => {
        const before = resourcesOf(stateFile(name));
        expect(before.length).toBe(3); // the stack, the provider, the network
        await labShell(`ip netns exec swetl-bastion iptables -I INPUT -p tcp --dport 22 --syn -j REJECT`);
        try {
            await expect(stack.refresh()).rejects.toThrow(/SSH to bastion \(root@198\.18\.10\.2:22\) failed/);
        } finally {
            await labShell(`ip netns exec swetl-bastion iptables -D INPUT -p tcp --dport 22 --syn -j REJECT`);
        }
        expect(resourcesOf(stateFile(name))).toEqual(before);
        const preview = await stack.preview({ refresh: true });
        expect(preview.changeSummary).toEqual({ same: 2 });
    });

    test("the configured manager down: the program's resources are read through another manager", async () => {
        // mgr1's sshd refuses new connections; the connection's alternates (mgr2, mgr3) take over.
        await labShell(`ip netns exec swetl-mgr1 iptables -I INPUT -p tcp --dport 22 --syn -j REJECT`);
        try {
            const preview = await stack.preview({ refresh: true });
            expect(preview.changeSummary).toEqual({ same: 2 });
        } finally {
            await labShell(`ip netns exec swetl-mgr1 iptables -D INPUT -p tcp --dport 22 --syn -j REJECT`);
        }
    });

    test("a wrong pinned host key stops the operation with the host's name and the fix", async () => {
        const bad = await inlineStack(`${name}-badkey`, async () => {
            const conn = { ...managerConnection(), hostKey: cfg.workers[0].hostKey, alternates: [] };
            new Network("tr-badkey", { connection: conn, privateKey: secretKey(), name: "tr-badkey" });
        });
        await expect(bad.up()).rejects.toThrow(/host key of mgr1 \(198\.18\.20\.11:22\) does not match the pinned key/);
        await bad.destroy();
    });
});

describe("a no-op preview --refresh of 20 services", () => {
    test("makes at most one SSH handshake per host", async () => {
        await ensureSwarm();
        const stack = await inlineStack("transport-twenty", async () => {
            sleepingServices("tr-svc", 20);
        });
        try {
            await stack.up();
            const { result, handshakes } = await countHandshakes(["bastion", "mgr1", "mgr2", "mgr3", "wkr1", "wkr2"], () => stack.preview({ refresh: true }));
            expect(result.changeSummary).toEqual({ same: 21 });
            expect(handshakes).toEqual({ bastion: 1, mgr1: 1, mgr2: 0, mgr3: 0, wkr1: 0, wkr2: 0 });
        } finally {
            await stack.destroy();
        }
    });
});
