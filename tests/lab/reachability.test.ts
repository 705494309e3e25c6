// The lab's network shape, proved from the operator's side (the root namespace): only the public
// network is reachable; every node is reached through the bastion, with pinned host keys.
import * as net from "net";
import { withSession } from "../../providers/ssh/connection";
import { labConfig, targets } from "./labConfig";

const cfg = labConfig();
const hosts = targets(cfg);

function tcpConnect(host: string, port: number, timeoutMs = 3000): Promise<string> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port });
        const done = (r: string) => {
            s.destroy();
            resolve(r);
        };
        s.setTimeout(timeoutMs, () => done("timeout"));
        s.once("connect", () => done("connected"));
        s.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    });
}

describe("the lab network", () => {
    test("the operator reaches the bastion's sshd on the public network", async () => {
        expect(await tcpConnect(cfg.bastion.publicAddress, 22)).toBe("connected");
    });

    test.each(cfg.workers.map((w) => [w.name, w.privateAddress]))("the operator cannot reach worker %s (%s) directly", async (_n, addr) => {
        expect(["EHOSTUNREACH", "ENETUNREACH", "timeout"]).toContain(await tcpConnect(addr, 22));
    });

    test.each(cfg.managers.map((m) => [m.name, m.privateAddress]))("the operator cannot reach manager %s's private address %s directly", async (_n, addr) => {
        expect(["EHOSTUNREACH", "ENETUNREACH", "timeout"]).toContain(await tcpConnect(addr, 22));
    });

    test("every node is reached through the bastion, is the host it claims, and runs its own dockerd", async () => {
        const names = [...cfg.managers, ...cfg.workers].map((h) => h.name);
        const seen = await Promise.all(
            names.map((n) =>
                withSession(hosts.get(n)!, async (s) => {
                    const hostname = (await s.exec("hostname")).stdout.trim();
                    const info = await s.docker().info();
                    return { hostname, dockerName: info.Name as string, engineId: info.ID as string };
                }),
            ),
        );
        expect(seen.map((s) => s.hostname)).toEqual(names);
        expect(seen.map((s) => s.dockerName)).toEqual(names);
        expect(new Set(seen.map((s) => s.engineId)).size).toBe(names.length);
    });

    test("a wrong pinned host key on a node is refused, naming the host", async () => {
        const wkr = { ...hosts.get(cfg.workers[0].name)!, hostKey: cfg.bastion.hostKey };
        await expect(withSession(wkr, async () => "connected")).rejects.toMatchObject({ name: "HostKeyMismatchError" });
        await expect(withSession(wkr, async () => "connected")).rejects.toThrow(`host key of ${cfg.workers[0].name} (${cfg.workers[0].privateAddress}:22) does not match the pinned key`);
    });

    test("a wrong pinned host key on the bastion is refused before any node is contacted", async () => {
        const t = hosts.get(cfg.workers[0].name)!;
        const bad = { ...t, bastion: { ...t.bastion!, hostKey: cfg.workers[0].hostKey } };
        await expect(withSession(bad, async () => "connected")).rejects.toThrow(`host key of ${cfg.bastion.name} (${cfg.bastion.publicAddress}:22) does not match the pinned key`);
    });
});
