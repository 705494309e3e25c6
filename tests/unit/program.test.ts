// The whole program (index.ts) under mocks, fed the lab's configuration.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import ssh2 = require("ssh2");
import { installMocks, labConfig, Registered } from "./mocks";

const KEY = ssh2.utils.generateKeyPairSync("ed25519").private;

describe("index.ts with the lab profile", () => {
    let registered: Registered[];
    let program: Record<string, pulumi.Output<unknown> | unknown>;
    let keyPath: string;

    beforeAll(async () => {
        registered = installMocks();
        keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swetl-")), "id_ed25519");
        fs.writeFileSync(keyPath, KEY);
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(labConfig({ sshPrivateKeyPath: keyPath }))) all[`swarm-etl:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
        pulumi.runtime.setAllConfig(all, []);
        program = await import("../../index");
        await new Promise((r) => (program.nodes as pulumi.Output<unknown>).apply(r));
        // The demo service registers once the swarm's members and its network resolved.
        for (let i = 0; i < 200 && !(registered.some((r) => r.name === "demo-web") && registered.some((r) => r.name === "swarm-wkr2-spec")); i++) await new Promise((r) => setTimeout(r, 10));
    });

    test("declares the cluster and the demo stack, nothing else", () => {
        const byType = registered.map((r) => `${r.type} ${r.name}`).sort();
        const hosts = ["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"];
        expect(byType).toEqual(
            [
                "pulumi-nodejs:dynamic/swarm:Network demo-net",
                "pulumi-nodejs:dynamic/swarm:Service demo-web",
                "pulumi-nodejs:dynamic/swarm:SwarmInit swarm",
                ...hosts.map((h) => `pulumi-nodejs:dynamic/swarm:HostCheck swarm-${h}-check`),
                ...hosts.map((h) => `pulumi-nodejs:dynamic/swarm:NodeSpec swarm-${h}-spec`),
                ...hosts.map((h) => `pulumi-nodejs:dynamic/swarm:SwarmJoin swarm-${h}`),
                "swarm:cluster:SwarmCluster swarm",
                "swarm:stacks:Demo demo",
            ].sort(),
        );
    });

    test("the access outputs point at the lab's key file and the stack's known_hosts file", () => {
        expect(program.sshConfig).toContain(`IdentityFile ${keyPath}`);
        expect(program.sshConfig).toContain("UserKnownHostsFile ~/.ssh/swarm-etl-test.known_hosts");
        expect(program.ansibleInventory).toContain(`ansible_ssh_private_key_file: ${keyPath}`);
        expect(program.autolock).toBe(false);
    });

    test("the lab profile gives the demo service dnsrr, host-mode ports and an unencrypted overlay", () => {
        const svc = registered.find((r) => r.name === "demo-web")!.inputs;
        expect(svc).toMatchObject({ endpointMode: "dnsrr", replicas: 2, image: "198.18.20.2:5000/lab/busybox:1.35", networks: ["net-demo-net"] });
        expect(svc.ports).toEqual([{ target: 8080, published: 8080, protocol: "tcp", mode: "host" }]);
        expect(registered.find((r) => r.name === "demo-net")!.inputs).toMatchObject({ name: "demo-net", encrypted: false, attachable: true });
    });

    test("the key file's content reaches the resources as the privateKey input, and the tokens are exported as secrets", async () => {
        // Mocks see a secret input as Pulumi's secret sentinel wrapping the value.
        const key = registered.find((r) => r.name === "swarm-wkr1")!.inputs.privateKey as Record<string, string>;
        expect(key).toEqual({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: KEY });
        expect(await pulumi.isSecret(program.workerToken as pulumi.Output<string>)).toBe(true);
    });

    test("the serialized providers require their libraries by name and capture no secret", () => {
        for (const name of ["swarm", "swarm-mgr1", "swarm-wkr1", "swarm-wkr1-check", "swarm-wkr1-spec", "demo-net", "demo-web"]) {
            const code = registered.find((r) => r.name === name && r.type.startsWith("pulumi-nodejs:dynamic"))!.inputs.__provider as string;
            expect(typeof code).toBe("string");
            expect(code).toMatch(/require\("ssh2[\/"]/);
            expect(code).toMatch(/require\("dockerode[\/"]/);
            expect(code).not.toContain(KEY.split("\n")[1]);
            expect(code).not.toContain("PRIVATE KEY");
        }
    });
});
