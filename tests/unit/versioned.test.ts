// The pure parts of swarm:Secret and swarm:Config: naming by the data's hash, check() failures,
// diff decisions (replace vs update in place), outputs without the data, and the in-use error.
import { PROVIDER_VERSION } from "../../providers/swarm/common";
import { createPrivateKey, randomBytes, X509Certificate } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import {
    certificateOf,
    checkVersioned,
    dataHash,
    generatedValue,
    diffVersioned,
    inUseMessage,
    outputsFromLive,
    outputsOf,
    removeOutcome,
    servicesUsing,
    UNKNOWN,
    VersionedInputs,
    versionedName,
} from "../../providers/swarm/versioned";
import { installMocks, valueOf } from "./mocks";

const HELLO_SHA256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
const conn = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" };
const inputs: VersionedInputs = { connection: conn, privateKey: "KEY", name: "app-token", data: "hello", labels: { team: "etl" }, providerVersion: PROVIDER_VERSION };
const outs = outputsOf("secret", inputs, "sid1");

describe("naming", () => {
    test("dataHash is the sha256 of the UTF-8 data, hex", () => {
        expect(dataHash("hello")).toBe(HELLO_SHA256);
        expect(dataHash("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"); // printf é | sha256sum
    });

    test("the Swarm name is <name>-<first 10 hex of sha256(data)>, or <name>-<version>", () => {
        expect(versionedName("app-token", HELLO_SHA256)).toBe("app-token-2cf24dba5f");
        expect(versionedName("app-token", HELLO_SHA256, "v2")).toBe("app-token-v2");
    });

    test("different data gives different names, the same data the same name (1000 random values)", () => {
        const seen = new Map<string, string>();
        for (let i = 0; i < 1000; i++) {
            const data = `${Math.random()}-${i}`;
            const n = versionedName("x", dataHash(data));
            expect(n).toMatch(/^x-[0-9a-f]{10}$/);
            expect(versionedName("x", dataHash(data))).toBe(n);
            expect(seen.has(n)).toBe(false);
            seen.set(n, data);
        }
    });
});

describe("checkVersioned", () => {
    test("valid inputs have no failures, also with an unknown data value (preview)", () => {
        expect(checkVersioned("secret", {}, inputs)).toEqual([]);
        expect(checkVersioned("config", {}, { ...inputs, data: UNKNOWN })).toEqual([]);
    });

    test("a bad name, a bad version and empty data fail at once, each with the value and the fix", () => {
        expect(checkVersioned("secret", {}, { ...inputs, name: "app token", version: "v 2", data: "" })).toEqual([
            { property: "name", reason: 'secret name "app token" is not valid: use letters, digits, and - _ . inside (e.g. "app-db-password")' },
            { property: "version", reason: 'version "v 2" is not valid: use letters, digits, and - _ . inside (e.g. "v2"), or leave it out to name the secret by its data\'s hash' },
            { property: "data", reason: "secret data must be a non-empty string of at most 500 KiB (Swarm's limit), got 0 bytes" },
        ]);
    });

    test("data over Swarm's limit fails: 500 KiB for a secret, 1000 KiB for a config", () => {
        const big = "x".repeat(600 * 1024);
        expect(checkVersioned("secret", {}, { ...inputs, data: big })).toEqual([
            { property: "data", reason: `secret data must be a non-empty string of at most 500 KiB (Swarm's limit), got ${600 * 1024} bytes` },
        ]);
        expect(checkVersioned("config", {}, { ...inputs, data: big })).toEqual([]);
    });

    test("a name that is too long with its suffix fails, naming the full name", () => {
        const name = "a".repeat(60);
        expect(checkVersioned("config", {}, { ...inputs, name })).toEqual([
            { property: "name", reason: `config name "${name}-0000000000" is 71 characters; Swarm allows 64: shorten name or version` },
        ]);
    });

    test("new data under an unchanged explicit version fails: the replacement needs a new name", () => {
        const v1 = { ...inputs, version: "v1" };
        expect(checkVersioned("secret", v1, { ...v1, data: "other" })).toEqual([
            {
                property: "version",
                reason: 'the data of secret "app-token" changed but version stays "v1": a Swarm secret cannot change, and its replacement needs a new name; set a new version (or leave version out to name it by the data\'s hash)',
            },
        ]);
        expect(checkVersioned("secret", v1, { ...v1, data: "other", version: "v2" })).toEqual([]);
        expect(checkVersioned("secret", v1, { ...v1, labels: { a: "b" } })).toEqual([]);
    });
});

describe("diffVersioned", () => {
    test("unchanged inputs: no changes", () => {
        expect(diffVersioned("secret", outs, inputs)).toEqual({ changes: false, replaces: [], updates: [] });
    });

    test("new data replaces (create-before-delete; the name changes with the hash)", () => {
        expect(diffVersioned("secret", outs, { ...inputs, data: "hello2" })).toEqual({ changes: true, replaces: ["data"], updates: [] });
    });

    test("data not known yet (preview) counts as a replace", () => {
        expect(diffVersioned("secret", outs, { ...inputs, data: UNKNOWN }).replaces).toEqual(["data"]);
    });

    test("a new base name or version replaces", () => {
        expect(diffVersioned("config", outputsOf("config", inputs, "c1"), { ...inputs, name: "other" }).replaces).toEqual(["name"]);
        expect(diffVersioned("config", outputsOf("config", inputs, "c1"), { ...inputs, version: "v2" }).replaces).toEqual(["version"]);
    });

    test("labels update in place; {} and no labels are the same", () => {
        expect(diffVersioned("secret", outs, { ...inputs, labels: { team: "ops" } })).toEqual({ changes: true, replaces: [], updates: ["labels"] });
        const bare = outputsOf("secret", { ...inputs, labels: undefined }, "sid1");
        expect(diffVersioned("secret", bare, { ...inputs, labels: {} }).changes).toBe(false);
    });

    test("a new connection or key is an update that touches nothing in Swarm", () => {
        expect(diffVersioned("secret", outs, { ...inputs, privateKey: "KEY2" })).toEqual({ changes: true, replaces: [], updates: ["privateKey"] });
    });

    test("a live name the inputs would not make (older naming) replaces", () => {
        expect(diffVersioned("secret", { ...outs, secretName: "app-token" }, inputs).replaces).toEqual(["name"]);
    });
});

describe("outputs", () => {
    test("outputs keep the data's hash, never the data nor its base64", () => {
        expect(outs).toEqual({
            connection: conn,
            privateKey: "KEY",
            name: "app-token",
            labels: { team: "etl" },
            providerVersion: PROVIDER_VERSION,
            dataHash: HELLO_SHA256,
            secretId: "sid1",
            secretName: "app-token-2cf24dba5f",
        });
        const json = JSON.stringify(outputsOf("config", { ...inputs, data: "s3cr3t-value" }, "c1"));
        expect(json).not.toContain("s3cr3t-value");
        expect(json).not.toContain(Buffer.from("s3cr3t-value").toString("base64"));
    });

    test("read takes the live name and labels; a config's hash from its live data, a secret's from state", () => {
        const live = { ID: "sid1", Version: { Index: 9 }, Spec: { Name: "app-token-2cf24dba5f", Labels: { team: "ops" } } };
        expect(outputsFromLive("secret", outs, live)).toEqual({ ...outs, labels: { team: "ops" } });
        expect(outputsFromLive("secret", outs, { ...live, Spec: { Name: live.Spec.Name } }).labels).toBeUndefined();
        const cfg = outputsOf("config", inputs, "c1");
        const liveCfg = { ID: "c1", Version: { Index: 3 }, Spec: { Name: "app-token-2cf24dba5f", Data: Buffer.from("changed").toString("base64") } };
        expect(outputsFromLive("config", cfg, liveCfg).dataHash).toBe(dataHash("changed"));
    });
});

describe("generated TLS identities", () => {
    const { data: _data, ...base } = inputs;
    const spec = { commonName: "pgbackrest", dnsNames: ["pg-backup", "pg-wkr1"] };
    const gen: VersionedInputs = { ...base, generate: { tls: spec } };

    test("a self-signed certificate for exactly those names, valid 10 years, with its key, that verifies itself", () => {
        const pem = generatedValue({ tls: spec });
        const cert = new X509Certificate(pem);
        expect(cert.subject).toBe("CN=pgbackrest");
        expect(cert.subjectAltName).toBe("DNS:pg-backup, DNS:pg-wkr1");
        expect(cert.verify(cert.publicKey)).toBe(true);
        const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 86_400_000);
        expect(years).toBeGreaterThan(9.9);
        const key = createPrivateKey(pem);
        expect(cert.checkPrivateKey(key)).toBe(true);
        // A fresh key every time.
        expect(new X509Certificate(generatedValue({ tls: spec })).fingerprint256).not.toBe(cert.fingerprint256);
    });

    test("a valid spec passes; a bad common name, no names, a name that is not a DNS name, a bad validity fail with the value", () => {
        expect(checkVersioned("secret", {}, gen)).toEqual([]);
        expect(checkVersioned("secret", {}, { ...gen, generate: { tls: { commonName: "a b", dnsNames: [], days: 0 } } }).map((f) => f.reason)).toEqual([
            'generate.tls.commonName must be a name of letters, digits and - _ . (at most 64), got "a b"',
            "generate.tls.dnsNames must list the host names the certificate serves, got []",
            "generate.tls.days must be a whole number of days from 1 to 36500, got 0",
        ]);
        expect(checkVersioned("secret", {}, { ...gen, generate: { tls: { commonName: "x", dnsNames: ["pg_wkr1"] } } }).map((f) => f.reason)).toEqual([
            'generate.tls.dnsNames: "pg_wkr1" is not a DNS name; fix: use the service name clients connect to (or *.<domain> for every host of a domain)',
        ]);
        // A wildcard for every host of a domain (the edge's UIs), but only as the first label.
        expect(checkVersioned("secret", {}, { ...gen, generate: { tls: { commonName: "edge", dnsNames: ["*.lab.example.test"] } } })).toEqual([]);
        expect(checkVersioned("secret", {}, { ...gen, generate: { tls: { commonName: "edge", dnsNames: ["a.*.example.test"] } } })).toHaveLength(1);
    });

    test("the outputs carry the generated certificate (what clients trust) and never its key", () => {
        const pem = generatedValue({ tls: spec });
        const outs = outputsOf("secret", gen, "sid4", pem);
        expect(outs.certificate).toBe(certificateOf(pem));
        expect(new X509Certificate(String(outs.certificate)).checkPrivateKey(createPrivateKey(pem))).toBe(true);
        expect(JSON.stringify(outs)).not.toMatch(/PRIVATE KEY/);
        // A given value has none.
        expect(outputsOf("secret", inputs, "sid5").certificate).toBeUndefined();
    });

    test("a new name list replaces the identity; the same spec keeps it", () => {
        const outs = outputsOf("secret", gen, "sid3", generatedValue({ tls: spec }));
        expect(diffVersioned("secret", outs, gen).changes).toBe(false);
        expect(diffVersioned("secret", outs, { ...gen, generate: { tls: { ...spec, dnsNames: [...spec.dnsNames, "pgr-wkr1"] } } }).replaces).toEqual(["generate"]);
    });
});

describe("generated secrets", () => {
    const { data: _data, ...base } = inputs;
    const gen: VersionedInputs = { ...base, generate: { bytes: 32 } };
    const VALUE = randomBytes(32).toString("base64url");
    const genOuts = outputsOf("secret", gen, "sid2", VALUE);

    test("a generated secret with no data is valid, also with its size (or all of generate) not known yet", () => {
        expect(checkVersioned("secret", {}, gen)).toEqual([]);
        expect(checkVersioned("secret", {}, { ...gen, generate: { bytes: UNKNOWN as unknown as number } })).toEqual([]);
        expect(checkVersioned("secret", {}, { ...gen, generate: UNKNOWN as unknown as { bytes: number } })).toEqual([]);
        expect(checkVersioned("secret", {}, { ...gen, generate: { bytes: 16 } })).toEqual([]);
        expect(checkVersioned("secret", {}, { ...gen, generate: { bytes: 1024 } })).toEqual([]);
    });

    test("a config cannot be generated", () => {
        expect(checkVersioned("config", {}, gen)).toEqual([
            { property: "generate", reason: "a config cannot be generated (its data is readable by anyone who can inspect it); set data instead" },
        ]);
    });

    test("generate together with data fails", () => {
        expect(checkVersioned("secret", {}, { ...gen, data: "hello" })).toEqual([
            { property: "generate", reason: "set either data or generate, not both: generate makes a random value, data is a given one" },
        ]);
    });

    test.each([[8], [15], [1025], [32.5], ["32"], [undefined]])("generate.bytes %p is refused", (bytes) => {
        expect(checkVersioned("secret", {}, { ...gen, generate: { bytes: bytes as number } })).toEqual([
            { property: "generate", reason: `generate.bytes must be a whole number from 16 to 1024, got ${JSON.stringify(bytes)}; fix: use 32 for a password` },
        ]);
    });

    test("unchanged inputs: no replace (the value stays the one generated)", () => {
        expect(diffVersioned("secret", genOuts, gen)).toEqual({ changes: false, replaces: [], updates: [] });
        expect(diffVersioned("secret", genOuts, { ...gen, labels: { team: "ops" } })).toEqual({ changes: true, replaces: [], updates: ["labels"] });
    });

    test("new bytes or a new version replace (a new random value)", () => {
        expect(diffVersioned("secret", genOuts, { ...gen, generate: { bytes: 64 } })).toEqual({ changes: true, replaces: ["generate"], updates: [] });
        expect(diffVersioned("secret", genOuts, { ...gen, version: "v2" })).toEqual({ changes: true, replaces: ["version"], updates: [] });
    });

    test("switching between given data and a generated value replaces", () => {
        expect(diffVersioned("secret", outs, gen).replaces).toEqual(["generate"]);
        expect(diffVersioned("secret", genOuts, inputs).replaces).toEqual(["data"]);
    });

    test("the outputs never hold the generated value nor its base64, only its hash and the name made from it", () => {
        const hash = dataHash(VALUE);
        expect(genOuts).toEqual({
            connection: conn,
            privateKey: "KEY",
            name: "app-token",
            generate: { bytes: 32 },
            labels: { team: "etl" },
            providerVersion: PROVIDER_VERSION,
            dataHash: hash,
            secretId: "sid2",
            secretName: `app-token-${hash.slice(0, 10)}`,
        });
        const json = JSON.stringify(genOuts);
        expect(json).not.toContain(VALUE);
        expect(json).not.toContain(Buffer.from(VALUE).toString("base64"));
        expect("data" in genOuts).toBe(false);
    });
});

describe("in use", () => {
    const services = [
        { Spec: { Name: "web", TaskTemplate: { ContainerSpec: { Secrets: [{ SecretID: "sid1" }], Configs: [{ ConfigID: "c1" }] } } } },
        { Spec: { Name: "api", TaskTemplate: { ContainerSpec: { Secrets: [{ SecretID: "sid1" }] } } } },
        { Spec: { Name: "db", TaskTemplate: { ContainerSpec: {} } } },
    ];

    test("servicesUsing names the services that mount the object, sorted", () => {
        expect(servicesUsing("secret", "sid1", services)).toEqual(["api", "web"]);
        expect(servicesUsing("config", "c1", services)).toEqual(["web"]);
        expect(servicesUsing("config", "sid1", services)).toEqual([]);
    });

    test("removeOutcome: 404 is gone, in use is retried, a lost connection is retried, a refused key and other daemon errors fail", () => {
        const daemon = (statusCode: number, message: string) => Object.assign(new Error(`(HTTP code ${statusCode})`), { statusCode, json: { message } });
        expect(removeOutcome(daemon(404, "secret x not found"))).toBe("gone");
        expect(removeOutcome(daemon(400, "rpc error: code = InvalidArgument desc = secret 'x' is in use by the following service: web"))).toBe("in-use");
        expect(removeOutcome(daemon(500, "rpc error: code = Unknown desc = raft: proposal dropped"))).toBe("fatal");
        expect(removeOutcome(new Error("socket hang up"))).toBe("transport");
        expect(removeOutcome(new Error("Not connected"))).toBe("transport");
        expect(removeOutcome(new Error("host key of mgr1 (198.18.20.11:22) does not match the pinned key"))).toBe("fatal");
        expect(removeOutcome(new Error("All configured authentication methods failed"))).toBe("fatal");
    });

    test("the error names the object, the services, the daemon's text and the fix", () => {
        expect(inUseMessage("secret", "app-token-2cf24dba5f", ["api", "web"], "secret 'app-token-2cf24dba5f' is in use by the following services: api, web")).toBe(
            "removing secret app-token-2cf24dba5f failed: it is still used by services api, web (daemon: secret 'app-token-2cf24dba5f' is in use by the following services: api, web); " +
                "remove it from those services (or delete them) first, then run pulumi up again",
        );
        expect(inUseMessage("config", "c-1", ["web"], "x")).toBe("removing config c-1 failed: it is still used by service web (daemon: x); remove it from that service (or delete it) first, then run pulumi up again");
    });
});

describe("the resources", () => {
    const registered = installMocks();

    test("Secret and Config register their type tokens; a Secret's data is sent as a secret even when given plain, a Config's as given", async () => {
        const { Secret, Config } = await import("../../providers/swarm");
        const s = new Secret("tok", { connection: conn, privateKey: "KEY", name: "app-token", data: "plain-value" });
        const c = new Config("cfg", { connection: conn, privateKey: "KEY", name: "app-conf", data: "x=1", labels: { a: "b" } });
        await valueOf(pulumi.all([s.urn, c.urn]));
        expect(registered.map((r) => [r.type, r.name])).toEqual([
            ["pulumi-nodejs:dynamic/swarm:Secret", "tok"],
            ["pulumi-nodejs:dynamic/swarm:Config", "cfg"],
        ]);
        expect(registered[0].inputs).toMatchObject({ name: "app-token", providerVersion: PROVIDER_VERSION });
        expect(registered[0].inputs.data).toEqual({ [specialSigKey]: specialSecretSig, value: "plain-value" });
        expect(registered[1].inputs).toMatchObject({ name: "app-conf", data: "x=1", labels: { a: "b" } });
    });
});
