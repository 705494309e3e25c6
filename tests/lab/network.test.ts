// swarm:Network against the lab: create, read, no-op, update in place, replace, delete, drift.
import { Stack } from "@pulumi/pulumi/automation";
import { withSession } from "../../providers/ssh/connection";
import { Network, NetworkArgs } from "../../providers/swarm/network";
import { ensureSwarm, inlineStack, managerConnection, secretKey } from "./harness";
import { labConfig, targets } from "./labConfig";

const mgr1 = targets(labConfig()).get("mgr1")!;
const docker = (cmd: string) => withSession(mgr1, (s) => s.exec(`docker ${cmd}`));

interface Inspect {
    Id: string;
    Name: string;
    Driver: string;
    Attachable: boolean;
    Internal: boolean;
    Labels: Record<string, string>;
    IPAM: { Config: { Subnet: string; Gateway: string }[] };
}
async function inspect(name: string): Promise<Inspect | undefined> {
    const r = await docker(`network inspect ${name}`);
    return r.code === 0 ? (JSON.parse(r.stdout) as Inspect[])[0] : undefined;
}

describe("swarm:Network", () => {
    let stack: Stack;
    let args: Partial<NetworkArgs> = {};
    let alternates = true;

    beforeAll(async () => {
        await ensureSwarm();
        stack = await inlineStack("network-lifecycle", async () => {
            const conn = managerConnection();
            const net = new Network("net-a", {
                connection: alternates ? conn : { ...conn, alternates: [] },
                privateKey: secretKey(),
                name: "net-a",
                ...args,
            });
            return { id: net.networkId, subnet: net.liveSubnet };
        });
    });

    afterAll(async () => {
        await stack.destroy();
        expect(await inspect("net-a")).toBeUndefined();
    });

    test("create: an attachable overlay network with the given subnet and labels", async () => {
        args = { subnet: "10.231.0.0/24", gateway: "10.231.0.1", labels: { "net-test.owner": "lab" } };
        const up = await stack.up();
        const live = await inspect("net-a");
        expect(live).toMatchObject({ Id: up.outputs.id.value, Driver: "overlay", Attachable: true, Internal: false, Labels: { "net-test.owner": "lab" } });
        expect(live!.IPAM.Config).toEqual([{ Subnet: "10.231.0.0/24", Gateway: "10.231.0.1" }]);
        expect(up.outputs.subnet.value).toBe("10.231.0.0/24");
    });

    test("read and no-op: refresh and preview show no change", async () => {
        const refresh = await stack.refresh();
        expect(refresh.summary.resourceChanges).toEqual({ same: 2 });
        expect((await stack.preview()).changeSummary).toEqual({ same: 2 });
    });

    test("update in place: a new connection (no alternates) keeps the network", async () => {
        const before = (await inspect("net-a"))!.Id;
        alternates = false;
        const up = await stack.up();
        expect(up.summary.resourceChanges).toEqual({ same: 1, update: 1 });
        expect((await inspect("net-a"))!.Id).toBe(before);
    });

    test("replace: a label change makes a new network (Docker networks are immutable)", async () => {
        const before = (await inspect("net-a"))!.Id;
        args = { ...args, labels: { "net-test.owner": "lab", "net-test.tier": "data" } };
        const up = await stack.up();
        expect(up.summary.resourceChanges).toEqual({ same: 1, replace: 1 });
        const live = (await inspect("net-a"))!;
        expect(live.Id).not.toBe(before);
        expect(live.Labels).toEqual({ "net-test.owner": "lab", "net-test.tier": "data" });
    });

    test("drift: a network removed by hand is shown by preview --refresh and created again by up --refresh", async () => {
        expect((await docker("network rm net-a")).code).toBe(0);
        const preview = await stack.preview({ refresh: true });
        expect(preview.changeSummary).toEqual({ same: 1, create: 1 });
        const up = await stack.up({ refresh: true });
        expect(up.summary.resourceChanges).toEqual({ same: 1, create: 1 });
        expect(await inspect("net-a")).toBeDefined();
    });

    test("an address range Docker refuses is reported with the daemon's message", async () => {
        args = { ...args, subnet: "10.231.0.0/33" };
        await expect(stack.up()).rejects.toThrow(/creating network net-a failed: .*10\.231\.0\.0\/33/);
        args = { ...args, subnet: "10.231.0.0/24" };
        await stack.up();
    });
});
