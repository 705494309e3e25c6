// joinOrWait: `docker swarm join`, and a join that Docker continues in the background after its own
// 20 s timeout (503 "... will continue in the background"). The lab cannot make the daemon that
// slow on demand, so the daemon here is a fake with the Engine API's answers.
import { joinOrWait, SwarmJoinInputs } from "../../providers/swarm/swarmJoin";

const inputs: SwarmJoinInputs = {
    connection: { name: "mgr2", host: "10.0.1.12", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" },
    privateKey: "unused",
    role: "manager",
    swarmId: "swarm-id",
    joinToken: "SWMTKN-1-x",
    remoteAddrs: ["10.0.1.11:2377"],
    advertiseAddr: "10.0.1.12",
    listenAddr: "10.0.1.12:2377",
    dataPathAddr: "10.0.1.12",
    manager: { name: "mgr1", host: "10.0.1.11", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" },
    readyTimeoutSeconds: 2,
    providerVersion: "test",
};

const BACKGROUND =
    'Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the "docker info" command to see the current swarm status of your node.';

/** A daemon whose join fails with `joinError` (if any) and whose `info` reports `states` in turn. */
function daemon(joinError: string | undefined, states: string[]) {
    const calls = { join: [] as unknown[], info: 0 };
    const docker = {
        swarmJoin: async (opts: unknown) => {
            calls.join.push(opts);
            if (joinError) throw Object.assign(new Error(`(HTTP code 503) unexpected - ${joinError}`), { statusCode: 503, json: { message: joinError } });
        },
        info: async () => ({ Swarm: { LocalNodeState: states[Math.min(calls.info++, states.length - 1)] } }),
    };
    return { docker: docker as unknown as Parameters<typeof joinOrWait>[0], calls };
}

describe("joinOrWait", () => {
    test("sends the join with the private addresses and the token, once", async () => {
        const { docker, calls } = daemon(undefined, []);
        await joinOrWait(docker, inputs, 1);
        expect(calls.join).toEqual([
            { ListenAddr: "10.0.1.12:2377", AdvertiseAddr: "10.0.1.12", DataPathAddr: "10.0.1.12", RemoteAddrs: ["10.0.1.11:2377"], JoinToken: "SWMTKN-1-x" },
        ]);
        expect(calls.info).toBe(0);
    });

    test("a join Docker continues in the background is waited for until the node is active, never sent twice", async () => {
        const { docker, calls } = daemon(BACKGROUND, ["pending", "pending", "active"]);
        await joinOrWait(docker, inputs, 1);
        expect(calls.join).toHaveLength(1);
        expect(calls.info).toBe(3);
    });

    test("a background join that ends in error fails, naming the node and the state", async () => {
        const { docker } = daemon(BACKGROUND, ["pending", "error"]);
        await expect(joinOrWait(docker, inputs, 1)).rejects.toThrow("docker swarm join of mgr2 as manager failed: the node is error after joining in the background");
    });

    test("a background join still pending at readyTimeoutSeconds fails with the last state", async () => {
        const { docker } = daemon(BACKGROUND, ["pending"]);
        await expect(joinOrWait(docker, inputs, 50)).rejects.toThrow("timed out after 2 s waiting for mgr2 to finish joining: state pending");
    });

    test("any other daemon error fails at once with the daemon's message", async () => {
        const { docker, calls } = daemon("invalid join token", ["active"]);
        await expect(joinOrWait(docker, inputs, 1)).rejects.toThrow("docker swarm join of mgr2 as manager failed: invalid join token");
        expect(calls.info).toBe(0);
    });
});
