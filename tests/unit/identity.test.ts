// Keycloak: its arguments' problems (each with its fix), its settings (no secret among them), and
// its graph under Pulumi mocks (the secrets it mounts, the network the edge joins).
import * as pulumi from "@pulumi/pulumi";
import { ADMIN_CLIENT_ID, Keycloak, keycloakArgsProblems, keycloakEnv, KEYCLOAK_UID } from "../../components/stacks/identity/keycloak";
import { HOST_KEY, installMocks, Registered, valueOf } from "./mocks";

const database = { networkId: "net-pg", endpoint: "pg-router:5432", database: "keycloak", user: "keycloak", passwordSecret: { secretId: "sec-db", secretName: "pg-role-keycloak" } };

describe("Keycloak's arguments and settings", () => {
    test("bad arguments: each problem with its fix", () => {
        expect(keycloakArgsProblems({ database })).toEqual([]);
        expect(keycloakArgsProblems({ database, replicas: 0, hostname: "id.example.com" })).toEqual([
            "replicas 0 is not a whole number from 1 to 9; fix: 1 (the lab) or 2 (prod)",
            'hostname "id.example.com" is not a URL of scheme, host and optional port; fix: e.g. https://id.example.com',
        ]);
        expect(keycloakArgsProblems({ database, hostname: "https://id.example.com/auth" })).toEqual([expect.stringMatching(/^hostname "https:\/\/id.example.com\/auth" is not a URL/)]);
        expect(keycloakArgsProblems({ database: { ...database, endpoint: "pg-router" } })).toEqual(['database.endpoint "pg-router" is not host:port; fix: the router\'s primary endpoint, e.g. pg-router:5432']);
        expect(keycloakArgsProblems({ database, replicas: 2, hostname: "https://id.example.com:8443" })).toEqual([]);
    });

    test("settings: the database through the router, secrets only as files; one replica a local cache, more a JDBC_PING cluster", () => {
        const files = { db: "/run/secrets/kc-db", admin: "/run/secrets/kc-admin" };
        const one = keycloakEnv({ database }, files);
        expect(one).toMatchObject({
            KC_DB_URL: "jdbc:postgresql://pg-router:5432/keycloak?socketTimeout=30&connectTimeout=5&tcpKeepAlive=true",
            KC_DB_USERNAME: "keycloak",
            KC_DB_PASSWORD_FILE: "/run/secrets/kc-db",
            KC_BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID,
            KC_BOOTSTRAP_ADMIN_CLIENT_SECRET_FILE: "/run/secrets/kc-admin",
            KC_PROXY_HEADERS: "xforwarded",
            KC_HOSTNAME_STRICT: "false",
            KC_CACHE: "local",
        });
        expect(Object.keys(one).filter((k) => /PASSWORD$|SECRET$/.test(k))).toEqual([]);
        const two = keycloakEnv({ database, replicas: 2, hostname: "https://id.example.com" }, files);
        expect(two).toMatchObject({ KC_CACHE: "ispn", KC_CACHE_STACK: "jdbc-ping", KC_HOSTNAME: "https://id.example.com" });
        expect(two.KC_HOSTNAME_STRICT).toBeUndefined();
        expect(two.KC_PROXY_TRUSTED_ADDRESSES).toBeUndefined();
        expect(keycloakEnv({ database, trustedProxies: "10.0.9.0/24" }, files).KC_PROXY_TRUSTED_ADDRESSES).toBe("10.0.9.0/24");
    });
});

describe("Keycloak under mocks", () => {
    let registered: Registered[];
    let kc: Keycloak;
    const conn = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: HOST_KEY };

    beforeAll(async () => {
        registered = installMocks();
        kc = new Keycloak("identity-keycloak", { connection: conn, privateKey: "KEY", image: "registry/swarm-etl/identity-keycloak@sha256:" + "a".repeat(64), database, replicas: 2, hostname: "https://id.example.com" });
        await valueOf(pulumi.output(kc.service.urn));
    });
    const one = (type: string, name: string) => registered.find((r) => r.type === type && r.name === name)!.inputs as Record<string, any>;

    test("the service: both networks, both secrets for Keycloak's user, no mount, health on the management port", () => {
        const s = one("pulumi-nodejs:dynamic/swarm:Service", "identity-keycloak");
        expect(s).toMatchObject({ replicas: 2, maxReplicasPerNode: 1, networks: ["net-identity-keycloak-net", "net-pg"], endpointMode: "vip", updateConfig: { order: "start-first" } });
        const uid = String(KEYCLOAK_UID);
        expect(s.secrets).toEqual([
            { secretId: "sec-db", secretName: "pg-role-keycloak", target: "identity-keycloak-db", uid, gid: uid, mode: 0o400 },
            // The admin secret's id and name are the Secret resource's outputs (the mocks leave them out).
            { target: "identity-keycloak-admin", uid, gid: uid, mode: 0o400 },
        ]);
        expect(one("pulumi-nodejs:dynamic/swarm:Secret", "identity-keycloak-admin")).toMatchObject({ name: "identity-keycloak-admin" });
        expect(s.mounts).toBeUndefined();
        expect(s.healthcheck.test).toEqual(["CMD", "swarm-etl-keycloak", "health"]);
        expect(JSON.stringify(s.env)).not.toMatch(/password"|secret"/i);
        // X-Forwarded-* only from the peers on Keycloak's own network (the edge's), as the swarm allocated it.
        expect(s.env.KC_PROXY_TRUSTED_ADDRESSES).toBe("10.0.9.0/24");
    });

    test("the admin credential: a service account's generated secret, a secret output, given to Swarm as a secret's data", async () => {
        expect(one("pulumi-nodejs:dynamic/swarm:GeneratedPassword", "identity-keycloak-admin-client-secret")).toMatchObject({ bytes: 30 });
        expect(await pulumi.isSecret(kc.adminClientSecret)).toBe(true);
        expect(kc.adminClientId).toBe(ADMIN_CLIENT_ID);
        expect(one("pulumi-nodejs:dynamic/swarm:Network", "identity-keycloak-net")).toMatchObject({ attachable: true, encrypted: true });
    });

    test("bad arguments stop the program before any resource", () => {
        expect(() => new Keycloak("kc-bad", { connection: conn, privateKey: "KEY", image: "x", database, replicas: 12 })).toThrow("Keycloak kc-bad: replicas 12 is not a whole number from 1 to 9; fix: 1 (the lab) or 2 (prod)");
        expect(registered.some((r) => r.name.startsWith("kc-bad"))).toBe(false);
    });
});
