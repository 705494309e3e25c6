import { cidrContains, cidrsOverlap, parseStackConfig, rawConfigFromEngine, rawConfigFromStackFile } from "../../config/schema";
import ssh2 = require("ssh2");
import { HOST_KEY, labConfig, configProblems } from "./mocks";
import { resolveObservabilityNodes } from "../../components/stacks/observability/config";

const KEY = ssh2.utils.generateKeyPairSync("ed25519").private;
const PUBLIC_KEY = ssh2.utils.generateKeyPairSync("ed25519").public;

/** base64 of an SSH wire blob: each field as a length-prefixed string. */
/** prod drains the managers and the lab's workers run members: no node is left for the backup repository. */
// prod without the parts that need a real cluster's settings: a backup path, a control manager and alert receivers.
const PROD_MINIMAL = { postgres: { backup: { enabled: false } }, observability: { enabled: false } };

function wire(...fields: (string | Buffer)[]): string {
    return Buffer.concat(
        fields.flatMap((f) => {
            const b = typeof f === "string" ? Buffer.from(f, "latin1") : f;
            const len = Buffer.alloc(4);
            len.writeUInt32BE(b.length);
            return [len, b];
        }),
    ).toString("base64");
}

/** The lab config with one worker carrying `fields`. */
function oneWorker(fields: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return labConfig({ workers: [{ name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY, labels: { "swarm-etl.postgres": "true", "swarm-etl.spark": "worker" }, ...fields }], ...overrides });
}

const problems = configProblems;

describe("parseStackConfig", () => {
    test("accepts the lab's config and applies the lab profile's defaults", () => {
        const cfg = parseStackConfig(labConfig({ endpointMode: undefined, publishMode: undefined, encryptOverlays: undefined }));
        expect(cfg.endpointMode).toBe("dnsrr");
        expect(cfg.publishMode).toBe("host");
        expect(cfg.encryptOverlays).toBe(false);
        expect(cfg.managers.map((m) => m.port)).toEqual([22, 22, 22]);
        expect(cfg.demo).toEqual({ enabled: true, replicas: 2, image: "198.18.20.2:5000/lab/busybox:1.35" });
    });

    test("a real cluster profile defaults to VIPs, the ingress mesh and encrypted overlays", () => {
        const cfg = parseStackConfig(labConfig({ profile: "prod", endpointMode: undefined, publishMode: undefined, encryptOverlays: undefined, ...PROD_MINIMAL }));
        expect([cfg.endpointMode, cfg.publishMode, cfg.encryptOverlays]).toEqual(["vip", "ingress", true]);
    });

    test("an even number of managers", () => {
        const cfg = labConfig();
        expect(problems({ ...cfg, managers: (cfg.managers as unknown[]).slice(0, 2) })).toEqual([
            "swarm-etl:managers: 2 managers cannot survive the loss of one (Raft needs a majority); fix: use 1, 3 or 5",
        ]);
    });

    test("zero managers", () => {
        expect(problems(labConfig({ managers: [] }))).toEqual([
            "swarm-etl:managers: [] needs at least one manager; fix: list 1, 3 or 5 managers",
            "swarm-etl:managers: 0 managers cannot survive the loss of one (Raft needs a majority); fix: use 1, 3 or 5",
        ]);
    });

    test("duplicate names and addresses", () => {
        const cfg = labConfig();
        const workers = [
            { name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY },
            { name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY },
        ];
        expect(problems({ ...cfg, workers })).toEqual([
            "swarm-etl:workers[1].name: wkr1 is already the name of workers[0]; fix: give every host a unique name",
            "swarm-etl:workers[1]: address 198.18.20.21 is already used by workers[0]; fix: give every host its own addresses",
        ]);
    });

    test("a worker given a public address", () => {
        const workers = [{ name: "wkr1", privateAddress: "198.18.20.21", publicAddress: "198.18.10.21", hostKey: HOST_KEY }];
        expect(problems(labConfig({ workers }))).toEqual([
            "swarm-etl:workers[0].publicAddress: a worker has no public address (workers are reached only through the bastion); fix: remove it, or list the host under managers",
        ]);
    });

    test("addresses outside the declared ranges", () => {
        const workers = [{ name: "wkr1", privateAddress: "10.9.9.9", hostKey: HOST_KEY }];
        expect(problems(labConfig({ workers }))).toEqual([
            "swarm-etl:workers[0].privateAddress: 10.9.9.9 is outside network.privateCidr 198.18.20.0/24; fix: use an address in 198.18.20.0/24 or widen network.privateCidr",
        ]);
    });

    test("malformed host keys and addresses, all reported at once", () => {
        const workers = [{ name: "wkr1", privateAddress: "198.18.20.300", hostKey: "AAAA" }];
        expect(problems(labConfig({ workers }))).toEqual([
            'swarm-etl:workers[0].privateAddress: "198.18.20.300" is not an IPv4 address; fix: write a dotted-quad address such as 10.0.1.11',
            'swarm-etl:workers[0].hostKey: "AAAA" is not an SSH public host key; fix: use the key type and base64 blob, e.g. the output of `ssh-keyscan -t ed25519 <host>` without the host name',
        ]);
    });

    test("a missing host key", () => {
        const cfg = labConfig();
        const bastion = { ...(cfg.bastion as object), hostKey: undefined };
        expect(problems({ ...cfg, bastion })).toEqual(["swarm-etl:bastion.hostKey: is required but not set; fix: set it in Pulumi.<stack>.yaml"]);
    });

    test("unknown keys (typos)", () => {
        const raw = labConfig({ workerz: [] });
        expect(problems(raw)).toEqual([
            "swarm-etl:workerz: unknown key; fix: remove it or correct its spelling (known keys: profile, sshUser, sshPrivateKey, sshPrivateKeyPath, bastion, managers, workers, network, registry, endpointMode, publishMode, encryptOverlays, demo, images, postgres, spark, etl, identity, edge, observability, autolock, joinTokenRotation, access, hostCheck)",
        ]);
    });

    test("an unknown profile", () => {
        expect(problems(labConfig({ profile: "staging" }))).toEqual(['swarm-etl:profile: "staging" must be one of "lab", "dev", "prod"; fix: use one of them']);
    });

    test("both or neither SSH key source", () => {
        const msg = "swarm-etl: exactly one of sshPrivateKey (secure) and sshPrivateKeyPath must be set; fix: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`";
        expect(problems(labConfig({ sshPrivateKeyPath: undefined }))).toEqual([msg]);
        expect(problems(labConfig({ sshPrivateKey: "secret-key-text" }))).toEqual([msg]);
    });

    test("a malformed inline private key is refused without echoing it", () => {
        expect(problems(labConfig({ sshPrivateKeyPath: undefined, sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n-----END OPENSSH PRIVATE KEY-----" }))).toEqual([
            "swarm-etl:sshPrivateKey: [secret] is not a usable private key (Malformed OpenSSH private key); fix: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519` with an unencrypted OpenSSH or PEM private key",
        ]);
        expect(problems(labConfig({ sshPrivateKeyPath: undefined, sshPrivateKey: PUBLIC_KEY }))).toEqual([
            "swarm-etl:sshPrivateKey: [secret] is a public key, not a private key; fix: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519` with an unencrypted OpenSSH or PEM private key",
        ]);
        expect(() => parseStackConfig(labConfig({ sshPrivateKeyPath: undefined, sshPrivateKey: KEY }))).not.toThrow();
    });

    test("a key file that is missing or not a private key, reported with the other problems", () => {
        const files: Record<string, string> = { "/keys/garbage": "hello" };
        const readFile = (p: string) => {
            if (p in files) return files[p];
            throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
        };
        expect(problems(labConfig({ sshPrivateKeyPath: "/keys/missing" }), { readFile })).toEqual([
            'swarm-etl:sshPrivateKeyPath: "/keys/missing" cannot be read (ENOENT); fix: point it at the private key file (for the lab: run `lab/lab.sh up`)',
        ]);
        expect(problems(labConfig({ sshPrivateKeyPath: "/keys/garbage", profile: "prod", managers: [] }), { readFile })).toEqual([
            "swarm-etl:managers: [] needs at least one manager; fix: list 1, 3 or 5 managers",
            "swarm-etl:managers: 0 managers cannot survive the loss of one (Raft needs a majority); fix: use 1, 3 or 5",
            'swarm-etl:sshPrivateKeyPath: "/keys/garbage" is not a usable private key (Unsupported key format); fix: point it at an unencrypted OpenSSH or PEM private key',
        ]);
    });

    test("labels that are not valid Swarm labels", () => {
        const workers = [{ name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY, labels: { "Etl Storage": "ssd", "com.docker.x": "y", "etl.ok": "a\nb", "swarm-etl.role": "db" } }];
        expect(problems(labConfig({ workers }))).toEqual([
            'swarm-etl:workers[0].labels.etl.ok: "a\\nb" contains a line break; fix: use a single-line label value',
            `swarm-etl:workers[0].labels.Etl Storage: label key "Etl Storage" is not a valid Swarm label; fix: use lower-case letters, digits, '.' and '-', starting and ending with a letter or digit (e.g. etl.storage)`,
            'swarm-etl:workers[0].labels.com.docker.x: label key "com.docker.x" is in a namespace Docker reserves (com.docker., io.docker., org.dockerproject.); fix: use your own prefix, e.g. etl.',
            "swarm-etl:workers[0].labels.swarm-etl.role: is set by the program (manager or worker); fix: remove it",
        ]);
    });

    test("an unknown availability", () => {
        const workers = [{ name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY, availability: "off" }];
        expect(problems(labConfig({ workers }))).toEqual(['swarm-etl:workers[0].availability: "off" must be one of "active", "pause", "drain"; fix: use one of them']);
    });

    test("prod with a single manager", () => {
        const cfg = labConfig({ profile: "prod", ...PROD_MINIMAL });
        expect(problems({ ...cfg, managers: (cfg.managers as unknown[]).slice(0, 1) })).toEqual([
            "swarm-etl:managers: prod needs 3 or 5 managers to survive the loss of one, not 1; fix: list 3 or 5 managers (or use the dev profile)",
        ]);
    });

    test("profiles: prod drains managers and turns autolock on; lab and dev do neither; explicit values win", () => {
        const prod = parseStackConfig(labConfig({ profile: "prod", ...PROD_MINIMAL }));
        expect([prod.autolock, prod.managers.map((m) => m.availability), prod.workers.map((w) => w.availability)]).toEqual([true, ["drain", "drain", "drain"], ["active", "active"]]);
        const lab = parseStackConfig(labConfig());
        expect([lab.autolock, lab.managers.map((m) => m.availability)]).toEqual([false, ["active", "active", "active"]]);
        const cfg = labConfig({ profile: "prod", autolock: false, ...PROD_MINIMAL });
        const managers = (cfg.managers as Record<string, unknown>[]).map((m, i) => (i === 0 ? { ...m, availability: "active" } : m));
        const custom = parseStackConfig({ ...cfg, managers });
        expect([custom.autolock, custom.managers.map((m) => m.availability)]).toEqual([false, ["active", "drain", "drain"]]);
    });

    test("a malformed hostCheck version and a negative token rotation", () => {
        expect(problems(labConfig({ hostCheck: { minDockerVersion: "latest" }, joinTokenRotation: -1 }))).toEqual([
            "swarm-etl:joinTokenRotation: -1 must be a whole number, 0 or more; fix: increase the current value by one to rotate the join tokens",
            'swarm-etl:hostCheck.minDockerVersion: "latest" is not a major.minor version; fix: write e.g. 20.10',
        ]);
    });

    test("prod with no worker, or with every node drained, has nowhere to run services", () => {
        expect(problems(labConfig({ profile: "prod", workers: [], ...PROD_MINIMAL }))).toEqual([
            "swarm-etl:workers: [] leaves no node to run services (prod drains its managers); fix: list at least one worker, or set availability: active on a manager",
        ]);
        expect(problems(labConfig({ profile: "prod", ...PROD_MINIMAL, workers: [{ name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY, availability: "drain" }] }))).toEqual([
            "swarm-etl:workers: every worker's availability is drain and prod drains its managers, so no node can run services; fix: set availability: active on a worker (or add one), or on a manager",
        ]);
        const cfg = labConfig({ workers: [{ name: "wkr1", privateAddress: "198.18.20.21", hostKey: HOST_KEY, availability: "pause" }] });
        const drained = (cfg.managers as Record<string, unknown>[]).map((m) => ({ ...m, availability: "drain" }));
        expect(problems({ ...cfg, managers: drained })).toEqual([
            "swarm-etl:workers: every worker's availability is pause and every manager's availability is drain, so no node can run services; fix: set availability: active on a worker (or add one), or on a manager",
        ]);
        // An active manager can run the services (the data tier and Spark, which need labelled nodes, are off).
        const prod = labConfig({ profile: "prod", workers: [], postgres: { enabled: false }, spark: { enabled: false }, etl: { enabled: false }, observability: { enabled: false } });
        const managers = (prod.managers as Record<string, unknown>[]).map((m, i) => (i === 0 ? { ...m, availability: "active" } : m));
        expect(() => parseStackConfig({ ...prod, managers })).not.toThrow();
    });

    test("a host key whose base64 blob is cut short or is not a key of its type", () => {
        const fix = (t: string) => `fix: copy the whole key, as \`ssh-keyscan -t ${t} <host>\` prints it, without the host name`;
        const hostKeyProblems = (hostKey: string) => problems(oneWorker({ hostKey }));
        expect(hostKeyProblems("ssh-ed25519 AAAA")).toEqual([
            `swarm-etl:workers[0].hostKey: "ssh-ed25519 AAAA" is cut short (3 bytes of the 51 an ssh-ed25519 key has); ${fix("ed25519")}`,
        ]);
        expect(hostKeyProblems("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9")).toEqual([
            `swarm-etl:workers[0].hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9" is cut short (48 bytes of the 51 an ssh-ed25519 key has); ${fix("ed25519")}`,
        ]);
        expect(hostKeyProblems(`${HOST_KEY}AAAA`)).toEqual([
            `swarm-etl:workers[0].hostKey: "${HOST_KEY}AAAA" is malformed (its blob has 54 bytes, an ssh-ed25519 key has 51); ${fix("ed25519")}`,
        ]);
        expect(hostKeyProblems("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")).toEqual([
            `swarm-etl:workers[0].hostKey: "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" is malformed (its blob holds a key of type ssh-ed25519, not ssh-rsa); ${fix("rsa")}`,
        ]);
        expect(hostKeyProblems("ssh-ed25519 QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWkFC")).toEqual([
            `swarm-etl:workers[0].hostKey: "ssh-ed25519 QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWkFC" is malformed (its blob does not start with the key type ssh-ed25519); ${fix("ed25519")}`,
        ]);
        // RSA: the exponent is there, the 257-byte modulus is cut after its first two bytes.
        expect(hostKeyProblems("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCi")).toEqual([
            `swarm-etl:workers[0].hostKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCi" is cut short (its blob ends after 24 bytes, inside the modulus); ${fix("rsa")}`,
        ]);
        const tinyRsa = `ssh-rsa ${wire("ssh-rsa", Buffer.from([1, 0, 1]), Buffer.from([0, 0xc5]))}`;
        expect(hostKeyProblems(tinyRsa)).toEqual([`swarm-etl:workers[0].hostKey: "${tinyRsa}" is malformed (its modulus has 8 bits, OpenSSH needs 1024 or more); ${fix("rsa")}`]);
        // ECDSA: the curve name must match the type, the point must be an uncompressed point of that curve.
        const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);
        const otherCurve = `ecdsa-sha2-nistp256 ${wire("ecdsa-sha2-nistp256", "nistp384", point)}`;
        expect(hostKeyProblems(otherCurve)).toEqual([`swarm-etl:workers[0].hostKey: "${otherCurve}" is malformed (its curve is "nistp384", not "nistp256"); ${fix("ecdsa")}`]);
        const shortPoint = `ecdsa-sha2-nistp256 ${wire("ecdsa-sha2-nistp256", "nistp256", point.subarray(0, 33))}`;
        expect(hostKeyProblems(shortPoint)).toEqual([
            `swarm-etl:workers[0].hostKey: "${shortPoint}" is malformed (its curve point has 33 bytes, not the 65 of an uncompressed nistp256 point); ${fix("ecdsa")}`,
        ]);
        const compressed = `ecdsa-sha2-nistp256 ${wire("ecdsa-sha2-nistp256", "nistp256", Buffer.concat([Buffer.from([2]), point.subarray(1)]))}`;
        expect(hostKeyProblems(compressed)).toEqual([`swarm-etl:workers[0].hostKey: "${compressed}" is malformed (its curve point starts with 0x02, not 0x04 as an uncompressed point does); ${fix("ecdsa")}`]);
        const cutPoint = `ecdsa-sha2-nistp256 ${wire("ecdsa-sha2-nistp256", "nistp256", point).slice(0, 60)}`;
        expect(hostKeyProblems(cutPoint)).toEqual([`swarm-etl:workers[0].hostKey: "${cutPoint}" is cut short (its blob ends after 45 bytes, inside the curve point); ${fix("ecdsa")}`]);
        // Whole keys of every type ssh-keyscan prints are accepted.
        const keys = [
            ssh2.utils.generateKeyPairSync("ed25519").public,
            ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 }).public,
            ...([256, 384, 521] as const).map((bits) => ssh2.utils.generateKeyPairSync("ecdsa", { bits }).public),
        ];
        for (const hostKey of keys) expect(() => parseStackConfig(oneWorker({ hostKey }))).not.toThrow();
    });

    test("public and private ranges that overlap", () => {
        expect(problems(labConfig({ network: { publicCidr: "198.18.10.0/24", privateCidr: "198.18.0.0/16" } }))).toEqual([
            "swarm-etl:network: publicCidr 198.18.10.0/24 and privateCidr 198.18.0.0/16 overlap; fix: give the public and the private network ranges that share no address",
        ]);
        expect(problems(labConfig({ network: { publicCidr: "198.18.10.0/33", privateCidr: "198.18.20.0/24" } }))).toEqual([
            'swarm-etl:network.publicCidr: "198.18.10.0/33" is not an IPv4 range; fix: write a network address and prefix length such as 10.0.0.0/16',
        ]);
    });

    test("numbers out of range, fractions and quoted numbers say the range and the fix", () => {
        const cfg = labConfig();
        const withPort = (port: unknown) => ({ ...cfg, managers: (cfg.managers as Record<string, unknown>[]).map((m, i) => (i === 0 ? { ...m, port } : m)) });
        const portFix = "must be a whole number from 1 to 65535; fix: use the port the host's sshd listens on, or remove the key for 22";
        expect(problems(withPort(0))).toEqual([`swarm-etl:managers[0].port: 0 ${portFix}`]);
        expect(problems(withPort(65536))).toEqual([`swarm-etl:managers[0].port: 65536 ${portFix}`]);
        expect(problems(withPort(22.5))).toEqual([`swarm-etl:managers[0].port: 22.5 ${portFix}`]);
        expect(problems(withPort("22"))).toEqual([`swarm-etl:managers[0].port: "22" ${portFix}`]);
        expect(problems(labConfig({ demo: { replicas: -1 } }))).toEqual([
            "swarm-etl:demo.replicas: -1 must be a whole number from 0 to 100; fix: set demo.replicas to e.g. 2 (the default), or set demo.enabled false to skip the demo",
        ]);
        expect(problems(labConfig({ joinTokenRotation: 1.5 }))).toEqual([
            "swarm-etl:joinTokenRotation: 1.5 must be a whole number, 0 or more; fix: increase the current value by one to rotate the join tokens",
        ]);
    });

    test("a value of the wrong type or empty: the type with its article, and the fix", () => {
        expect(problems(labConfig({ workers: { name: "wkr1" } }))).toEqual([
            'swarm-etl:workers: {"name":"wkr1"} must be an array (a YAML list); fix: write it as a YAML list, one `- ` entry per item',
        ]);
        expect(problems(labConfig({ network: [] }))).toEqual(["swarm-etl:network: [] must be an object (a YAML mapping); fix: write it as `key: value` lines"]);
        expect(problems(labConfig({ encryptOverlays: "yes" }))).toEqual(['swarm-etl:encryptOverlays: "yes" must be a boolean; fix: write true or false, without quotes']);
        expect(problems(oneWorker({ user: "" }))).toEqual(['swarm-etl:workers[0].user: "" must not be empty; fix: set a value, or remove the key']);
    });

    test("a secret value is never echoed in an error", () => {
        const out = problems(labConfig({ sshPrivateKeyPath: undefined, sshPrivateKey: 42 }));
        expect(out).toEqual(["swarm-etl:sshPrivateKey: [secret] must be a string; fix: write a string"]);
    });
});

describe("rawConfigFromEngine", () => {
    test("decodes JSON values of our namespace and ignores other namespaces", () => {
        expect(
            rawConfigFromEngine({
                "swarm-etl:managers": '[{"name":"mgr1"}]',
                "swarm-etl:profile": "lab",
                "swarm-etl:encryptOverlays": "false",
                "command:foo": "bar",
            }),
        ).toEqual({ managers: [{ name: "mgr1" }], profile: "lab", encryptOverlays: false });
    });
});

describe("rawConfigFromStackFile", () => {
    test("decodes the scalars the CLI rewrote as strings, keeps objects", () => {
        expect(rawConfigFromStackFile({ "swarm-etl:encryptOverlays": "false", "swarm-etl:demo": { replicas: 2 }, "swarm-etl:profile": "lab", other: 1 })).toEqual({
            encryptOverlays: false,
            demo: { replicas: 2 },
            profile: "lab",
        });
    });
});

describe("cidrContains", () => {
    test.each([
        ["198.18.20.0/24", "198.18.20.255", true],
        ["198.18.20.0/24", "198.18.21.0", false],
        ["10.0.0.0/8", "10.255.1.1", true],
        ["0.0.0.0/0", "1.2.3.4", true],
    ])("%s contains %s: %s", (cidr, addr, expected) => {
        expect(cidrContains(cidr, addr)).toBe(expected);
    });
});

describe("cidrsOverlap", () => {
    test.each([
        ["198.18.10.0/24", "198.18.20.0/24", false],
        ["198.18.10.0/24", "198.18.0.0/16", true],
        ["10.0.0.0/8", "10.20.0.0/16", true],
        ["10.20.0.0/16", "10.20.0.0/16", true],
        ["10.20.0.0/16", "10.21.0.0/16", false],
        ["10.20.0.0/33", "10.20.0.0/16", false],
    ])("%s and %s overlap: %s", (a, b, expected) => {
        expect([cidrsOverlap(a, b), cidrsOverlap(b, a)]).toEqual([expected, expected]);
    });
});

describe("the committed stack files", () => {
    const fs = require("fs") as typeof import("fs");
    const YAML = require("yaml") as typeof import("yaml");
    const load = (stack: string) => {
        const doc = YAML.parse(fs.readFileSync(`${__dirname}/../../Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, unknown> };
        return rawConfigFromStackFile(doc.config);
    };

    // The engine decrypts the committed secure value; here it is replaced by a key of the same kind.
    test.each(["dev", "prod"])("Pulumi.%s.yaml is valid with its secure SSH key", (stack) => {
        expect(load(stack).sshPrivateKey).toEqual({ secure: expect.stringMatching(/^v1:/) });
        expect(() => parseStackConfig({ ...load(stack), sshPrivateKey: KEY })).not.toThrow();
    });

    test("prod runs 3 managers, drained but for the control manager, with autolock, VIPs, the ingress mesh and encrypted overlays", () => {
        const cfg = parseStackConfig({ ...load("prod"), sshPrivateKey: KEY });
        expect([cfg.managers.map((m) => m.availability), cfg.autolock, cfg.endpointMode, cfg.publishMode, cfg.encryptOverlays]).toEqual([["active", "drain", "drain"], true, "vip", "ingress", true]);
        expect(resolveObservabilityNodes(cfg.observability, [...cfg.managers.map((m) => ({ ...m, role: "manager" as const })), ...cfg.workers.map((w) => ({ ...w, role: "worker" as const }))])).toEqual({
            control: "prod-mgr1",
            logs: "prod-wkr1",
            traces: "prod-wkr1",
            grafana: "prod-wkr1",
        });
    });

    test("dev runs 1 manager without autolock", () => {
        const cfg = parseStackConfig({ ...load("dev"), sshPrivateKey: KEY });
        expect([cfg.managers.length, cfg.autolock, cfg.managers[0].availability]).toEqual([1, false, "active"]);
    });

    test("Keycloak: dev one replica with the defaults; prod two, on the nodes labelled swarm-etl.identity=true, at an https URL", () => {
        const dev = parseStackConfig({ ...load("dev"), sshPrivateKey: KEY });
        expect(dev.identity).toEqual({ enabled: true, replicas: 1, memory: "1536M", node: {}, database: "keycloak", role: "keycloak", users: [], clients: [] });
        const prod = parseStackConfig({ ...load("prod"), sshPrivateKey: KEY });
        expect(prod.identity).toMatchObject({ enabled: true, replicas: 2, hostname: "https://id.prod.example.com", node: { label: "swarm-etl.identity=true" } });
        expect(prod.workers.filter((w) => w.labels["swarm-etl.identity"] === "true").map((w) => w.name)).toEqual(["prod-wkr1", "prod-wkr2"]);
    });

    test("without its secure SSH key a stack is refused with the fix", () => {
        const { sshPrivateKey: _drop, ...raw } = load("dev");
        expect(problems(raw)).toEqual([
            "swarm-etl: exactly one of sshPrivateKey (secure) and sshPrivateKeyPath must be set; fix: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
        ]);
    });
});
