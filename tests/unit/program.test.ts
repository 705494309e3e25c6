// The whole program (index.ts) under mocks, fed the lab's configuration.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, labConfig, Registered } from "./mocks";

describe("index.ts with the lab profile", () => {
    let registered: Registered[];
    let program: Record<string, pulumi.Output<unknown> | unknown>;

    beforeAll(async () => {
        registered = installMocks();
        const keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swetl-")), "id_ed25519");
        fs.writeFileSync(keyPath, "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-key\n-----END OPENSSH PRIVATE KEY-----\n");
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(labConfig({ sshPrivateKeyPath: keyPath }))) all[`swarm-etl:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
        pulumi.runtime.setAllConfig(all, []);
        program = await import("../../index");
        await new Promise((r) => (program.nodes as pulumi.Output<unknown>).apply(r));
        // The demo service registers once the swarm's members and its network resolved.
        for (let i = 0; i < 200 && !registered.some((r) => r.name === "demo-web"); i++) await new Promise((r) => setTimeout(r, 10));
    });

    test("declares the cluster and the demo stack, nothing else", () => {
        const byType = registered.map((r) => `${r.type} ${r.name}`).sort();
        expect(byType).toEqual([
            "pulumi-nodejs:dynamic/swarm:Network demo-net",
            "pulumi-nodejs:dynamic/swarm:Service demo-web",
            "pulumi-nodejs:dynamic/swarm:SwarmInit swarm-mgr1",
            "pulumi-nodejs:dynamic/swarm:SwarmJoin swarm-mgr2",
            "pulumi-nodejs:dynamic/swarm:SwarmJoin swarm-mgr3",
            "pulumi-nodejs:dynamic/swarm:SwarmJoin swarm-wkr1",
            "pulumi-nodejs:dynamic/swarm:SwarmJoin swarm-wkr2",
            "swarm:cluster:SwarmCluster swarm",
            "swarm:stacks:Demo demo",
        ]);
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
        expect(key).toEqual({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: expect.stringContaining("unit-test-key") });
        expect(await pulumi.isSecret(program.workerToken as pulumi.Output<string>)).toBe(true);
    });

    test("the serialized providers require their libraries by name and capture no secret", () => {
        for (const name of ["swarm-mgr1", "swarm-wkr1", "demo-net", "demo-web"]) {
            const code = registered.find((r) => r.name === name)!.inputs.__provider as string;
            expect(typeof code).toBe("string");
            expect(code).toMatch(/require\("ssh2[\/"]/);
            expect(code).toMatch(/require\("dockerode[\/"]/);
            expect(code).not.toContain("unit-test-key");
            expect(code).not.toContain("PRIVATE KEY");
        }
    });
});
