import { isDatabase, isStateful, isUi, parseImage } from "../../lib/conventions";
import { stackProfile } from "../../lib/profile";
import { engineProxy, hasUnknown, isUnknown, raw, UNKNOWN } from "../../lib/values";
import { postgres, service } from "./fixtures";

describe("values: reading props without tripping over unknowns", () => {
    test("raw() returns the plain object behind the engine's proxy, which throws on unknowns", () => {
        const props = { image: UNKNOWN.string, name: "web" };
        const proxied = engineProxy(props);
        expect(() => proxied.image).toThrow("string value at .image can't be known during preview");
        expect(raw(proxied)).toBe(props);
        expect(raw(props)).toBe(props);
    });

    test("isUnknown / hasUnknown", () => {
        expect(isUnknown(UNKNOWN.number)).toBe(true);
        expect(isUnknown("1.35")).toBe(false);
        expect(hasUnknown({ a: [1, { b: UNKNOWN.string }] })).toBe(true);
        expect(hasUnknown({ a: [1, { b: "x" }] })).toBe(false);
    });
});

describe("profile: stack config first, then the stack name, else prod", () => {
    test("stack config swarm-etl:profile (what the engine passes as PULUMI_CONFIG)", () => {
        expect(stackProfile({ PULUMI_CONFIG: JSON.stringify({ "swarm-etl:profile": "lab", "swarm-etl:sshUser": "root" }), PULUMI_NODEJS_STACK: "prod" })).toEqual({
            profile: "lab",
            source: "stack config swarm-etl:profile",
        });
        expect(stackProfile({ PULUMI_CONFIG: JSON.stringify({ "swarm-etl:config:profile": "dev" }) }).profile).toBe("dev");
    });

    test("the stack name when the config has no profile", () => {
        expect(stackProfile({ PULUMI_CONFIG: "{}", PULUMI_NODEJS_STACK: "prod-eu" })).toEqual({ profile: "prod", source: "stack name prod-eu" });
        expect(stackProfile({ PULUMI_NODEJS_STACK: "acme/swarm-etl/dev" }).profile).toBe("dev");
        expect(stackProfile({ PULUMI_NODEJS_STACK: "lab" }).profile).toBe("lab");
    });

    test("prod's rules when neither says (a product name is not a profile)", () => {
        expect(stackProfile({ PULUMI_NODEJS_STACK: "production" })).toEqual({ profile: "prod", source: "stack name production (no profile in it: prod's rules apply)" });
        expect(stackProfile({ PULUMI_CONFIG: "not json" }).profile).toBe("prod");
        expect(stackProfile({})).toEqual({ profile: "prod", source: "no stack config or name (prod's rules apply)" });
    });
});

describe("conventions", () => {
    test("parseImage: registry port, tag, digest", () => {
        expect(parseImage("198.18.20.2:5000/lab/busybox:1.35")).toEqual({ repository: "198.18.20.2:5000/lab/busybox", name: "busybox", tag: "1.35" });
        expect(parseImage("reg:5000/etl/postgres")).toEqual({ repository: "reg:5000/etl/postgres", name: "postgres" });
        expect(parseImage("postgres:15@sha256:abc")).toEqual({ repository: "postgres", name: "postgres", tag: "15", digest: "sha256:abc" });
    });

    test("databases, UIs and stateful services: labels first, then the image", () => {
        expect(isDatabase(postgres())).toBe(true);
        expect(isDatabase(service({ image: "reg/library/redis:7.2", labels: {} }))).toBe(true);
        expect(isDatabase(service({ image: "reg/library/redis:7.2", labels: { "swarm-etl.database": "false" } }))).toBe(false);
        expect(isDatabase(service({ image: "reg/obs/postgres-exporter:0.15" }))).toBe(false);
        expect(isStateful(postgres())).toBe(true);
        expect(isStateful(postgres({ labels: { "swarm-etl.database": "true", "swarm-etl.stateful": "false" } }))).toBe(false);
        expect(isStateful(service())).toBe(false);
        expect(isUi(service({ image: "reg/obs/grafana:11.2.0" }))).toBe(true);
        expect(isUi(service({ image: UNKNOWN.string, labels: { "swarm-etl.ui": "true" } }))).toBe(true);
        expect(isUi(service())).toBe(false);
    });
});
