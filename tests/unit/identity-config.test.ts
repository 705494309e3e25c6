// The `swarm-etl:identity` slice of the stack config: its defaults per profile, and every problem
// it reports before anything changes (the key, the value, the fix).
import { parseStackConfig } from "../../config/schema";
import { identityConstraints } from "../../components/stacks/identity/config";
import { LAB_IMAGES, labConfig, configProblems as problems } from "./mocks";

/** prod drains the managers and the lab's workers run members: no node is left for the backup repository. */
// prod without the parts that need a real cluster's settings: a backup path, a control manager and alert receivers.
const PROD_MINIMAL = { postgres: { backup: { enabled: false } }, observability: { enabled: false } };
const IMAGE_FIX = "fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it";
const REPLICAS_FIX = "must be a whole number from 1 to 9; fix: 1 (the lab, dev) or 2 (prod: one replica survives the loss of a node)";
/** The lab config with host `name` also labelled `labels` (and given `availability`). */
function labelled(name: string, labels: Record<string, string>, overrides: Record<string, unknown>, availability?: string): Record<string, unknown> {
    const cfg = labConfig(overrides);
    const mark = (h: Record<string, unknown>) => (h.name === name ? { ...h, labels: { ...(h.labels as object), ...labels }, ...(availability ? { availability } : {}) } : h);
    return { ...cfg, managers: (cfg.managers as Record<string, unknown>[]).map(mark), workers: (cfg.workers as Record<string, unknown>[]).map(mark) };
}

describe("the identity slice of the stack config", () => {
    test("defaults: on with postgres, one replica (lab, dev), 1536M on any node, the keycloak database and role, no hostname", () => {
        for (const profile of ["lab", "dev"]) {
            expect(parseStackConfig(labConfig({ profile, ...PROD_MINIMAL })).identity).toEqual({ enabled: true, replicas: 1, memory: "1536M", node: {}, database: "keycloak", role: "keycloak", users: [], clients: [] });
        }
        expect(identityConstraints(parseStackConfig(labConfig()).identity)).toBeUndefined();
    });

    test("defaults: two replicas in prod; explicit values win", () => {
        expect(parseStackConfig(labConfig({ profile: "prod", ...PROD_MINIMAL })).identity).toMatchObject({ enabled: true, replicas: 2 });
        expect(parseStackConfig(labConfig({ profile: "prod", ...PROD_MINIMAL, identity: { replicas: 3 } })).identity.replicas).toBe(3);
        expect(parseStackConfig(labConfig({ identity: { replicas: 2, memory: "2G", hostname: "http://id.lab.test:8080" } })).identity).toMatchObject({ replicas: 2, memory: "2G", hostname: "http://id.lab.test:8080" });
    });

    test("off by default when postgres is off (and then needs no image); off by choice", () => {
        const { "identity-keycloak": _drop, ...images } = LAB_IMAGES;
        const cfg = parseStackConfig(labConfig({ postgres: { enabled: false }, spark: { enabled: false }, etl: { enabled: false }, images }));
        expect(cfg.identity.enabled).toBe(false);
        expect(parseStackConfig(labConfig({ identity: { enabled: false }, images })).identity.enabled).toBe(false);
    });

    test("enabled while postgres is off", () => {
        expect(problems(labConfig({ postgres: { enabled: false }, spark: { enabled: false }, etl: { enabled: false }, identity: { enabled: true } }))).toEqual([
            "swarm-etl:identity.enabled: Keycloak keeps its realms and sessions in PostgreSQL, but postgres.enabled is false; fix: enable postgres, or set identity.enabled false",
        ]);
    });

    test("replicas out of range, fractions and quoted numbers", () => {
        expect(problems(labConfig({ identity: { replicas: 0 } }))).toEqual([`swarm-etl:identity.replicas: 0 ${REPLICAS_FIX}`]);
        expect(problems(labConfig({ identity: { replicas: 10 } }))).toEqual([`swarm-etl:identity.replicas: 10 ${REPLICAS_FIX}`]);
        expect(problems(labConfig({ identity: { replicas: 1.5 } }))).toEqual([`swarm-etl:identity.replicas: 1.5 ${REPLICAS_FIX}`]);
        expect(problems(labConfig({ identity: { replicas: "2" } }))).toEqual([`swarm-etl:identity.replicas: "2" ${REPLICAS_FIX}`]);
    });

    test("a hostname that is not a URL of scheme, host and port (Keycloak's own check, under the config key)", () => {
        expect(problems(labConfig({ identity: { hostname: "id.example.com" } }))).toEqual([
            'swarm-etl:identity.hostname: "id.example.com" is not a URL of scheme, host and optional port; fix: e.g. https://id.example.com',
        ]);
        expect(problems(labConfig({ identity: { hostname: "https://id.example.com/auth" } }))).toEqual([
            'swarm-etl:identity.hostname: "https://id.example.com/auth" is not a URL of scheme, host and optional port; fix: e.g. https://id.example.com',
        ]);
        expect(() => parseStackConfig(labConfig({ identity: { hostname: "https://id.example.com:8443" } }))).not.toThrow();
    });

    test("prod serves its logins over https only; dev and the lab may use http", () => {
        expect(problems(labConfig({ profile: "prod", ...PROD_MINIMAL, identity: { hostname: "http://id.example.com" } }))).toEqual([
            'swarm-etl:identity.hostname: "http://id.example.com" is plain HTTP, and prod signs people in only over TLS (it ends at the edge); fix: use https, e.g. https://id.example.com',
        ]);
        expect(() => parseStackConfig(labConfig({ profile: "prod", ...PROD_MINIMAL, identity: { hostname: "https://id.example.com" } }))).not.toThrow();
        expect(() => parseStackConfig(labConfig({ profile: "dev", ...PROD_MINIMAL, identity: { hostname: "http://id.dev.example.com" } }))).not.toThrow();
    });

    test("clients of UIs that sign people in themselves: one per UI, its redirect URIs, the realm's roles; each problem under its key with the fix", () => {
        const grafana = { clientId: "grafana", rootUrl: "https://grafana.example.com", redirectUris: ["/login/generic_oauth"], roles: ["platform-admin", "analyst", "viewer"] };
        expect(parseStackConfig(labConfig({ identity: { clients: [grafana] } })).identity.clients).toEqual([grafana]);
        expect(problems(labConfig({ identity: { clients: [grafana, { ...grafana, roles: ["analyst", "auditor"] }, { clientId: "edge", redirectUris: ["https://x.example.com/cb"] }] } }))).toEqual([
            "swarm-etl:identity.clients[1].clientId: grafana is declared more than once; fix: keep one (one client per UI, with all its redirect URIs)",
            'swarm-etl:identity.clients[1].roles[1]: "auditor" is not a role of the realm (platform-admin, data-engineer, analyst, viewer); fix: use one of those',
            "swarm-etl:identity.clients[2].clientId: edge is the client the program makes for the edge; fix: choose another clientId, e.g. the UI's name",
        ]);
        expect(problems(labConfig({ identity: { clients: [{ clientId: "realm-management", redirectUris: ["https://x.example.com/*/cb", "grafana/cb"], roles: [] }] } }))).toEqual([
            "swarm-etl:identity.clients[0].roles: [] is empty, so nobody could use the UI; fix: e.g. [platform-admin, analyst], or leave it out for all roles",
        ]);
        expect(problems(labConfig({ identity: { clients: [{ clientId: "realm-management", redirectUris: ["https://x.example.com/*/cb", "grafana/cb"] }] } }))).toEqual([
            "swarm-etl:identity.clients[0].clientId: client realm-management is one Keycloak makes in every realm itself; fix: choose another clientId, e.g. the UI's name",
            'swarm-etl:identity.clients[0].redirectUris[0]: "https://x.example.com/*/cb" has a * before its end; Keycloak allows one only as the last character; fix: e.g. https://airflow.example.com/oauth2/callback',
            'swarm-etl:identity.clients[0].redirectUris[1]: "grafana/cb" is not an http(s) URL or a path; fix: e.g. https://airflow.example.com/oauth2/callback',
        ]);
    });

    test("prod sends login codes over https only: a plain-HTTP redirect URI or root URL of a client is an error there, not in dev", () => {
        const http = { clientId: "grafana", rootUrl: "http://grafana.example.com", redirectUris: ["http://grafana.example.com/login/generic_oauth", "/cb"] };
        expect(problems(labConfig({ profile: "prod", ...PROD_MINIMAL, identity: { clients: [http] } }))).toEqual([
            'swarm-etl:identity.clients[0].rootUrl: "http://grafana.example.com" is plain HTTP, and prod sends login codes only over TLS; fix: https://grafana.example.com',
            'swarm-etl:identity.clients[0].redirectUris[0]: "http://grafana.example.com/login/generic_oauth" is plain HTTP, and prod sends login codes only over TLS; fix: https://grafana.example.com/login/generic_oauth',
        ]);
        expect(() => parseStackConfig(labConfig({ profile: "dev", ...PROD_MINIMAL, identity: { clients: [http] } }))).not.toThrow();
    });

    test("a memory limit that is not a Swarm size", () => {
        for (const memory of ["1536MB", "1.5G", "1536", "0M"]) {
            expect(problems(labConfig({ identity: { memory } }))).toEqual([`swarm-etl:identity.memory: ${JSON.stringify(memory)} is not a Swarm memory size; fix: a whole number of megabytes or gigabytes, e.g. 1536M or 2G`]);
        }
    });

    test("a node label that is not key=value, or that no active node carries; a carried one places the replicas", () => {
        expect(problems(labConfig({ identity: { node: { label: "identity" } } }))).toEqual(['swarm-etl:identity.node.label: "identity" is not a node label as key=value; fix: e.g. swarm-etl.identity=true']);
        const missing =
            'swarm-etl:identity.node.label: no active node carries the label swarm-etl.identity=true (nodes: mgr1, mgr2, mgr3, wkr1, wkr2); fix: add labels: {swarm-etl.identity: "true"} to the nodes that should run Keycloak, or remove identity.node.label';
        expect(problems(labConfig({ identity: { node: { label: "swarm-etl.identity=true" } } }))).toEqual([missing]);
        const identity = { node: { label: "swarm-etl.identity=true" } };
        expect(problems(labelled("mgr1", { "swarm-etl.identity": "true" }, { identity }, "drain"))).toEqual([missing]);
        const cfg = parseStackConfig(labelled("wkr2", { "swarm-etl.identity": "true" }, { identity }));
        expect(identityConstraints(cfg.identity)).toEqual(["node.labels.swarm-etl.identity==true"]);
    });

    test("a database that postgres does not make", () => {
        expect(problems(labConfig({ identity: { database: "iam" } }))).toEqual([
            'swarm-etl:identity.database: "iam" is not a database of postgres.databases (warehouse, keycloak); fix: name one, or add it (e.g. {name: iam, owner: keycloak}), or set identity.enabled false',
        ]);
        // postgres.databases replaced without Keycloak's: the default database is named.
        expect(problems(labConfig({ postgres: { databases: [{ name: "warehouse", owner: "warehouse" }] } }))).toEqual([
            'swarm-etl:identity.database: "keycloak" is not a database of postgres.databases (warehouse); fix: name one, or add it (e.g. {name: keycloak, owner: keycloak}), or set identity.enabled false',
        ]);
    });

    test("a role that is no login role, cannot log in, or can neither own nor write the database", () => {
        expect(problems(labConfig({ identity: { role: "kc" } }))).toEqual([
            'swarm-etl:identity.role: "kc" is not a login role of postgres (database owners and postgres.roles: warehouse, keycloak, etl_writer, analyst); fix: set identity.role to keycloak (the owner of keycloak)',
        ]);
        const roles = [{ name: "keycloak", login: false }];
        expect(problems(labConfig({ postgres: { roles }, etl: { enabled: false } }))).toEqual([
            "swarm-etl:identity.role: keycloak has login: false in postgres.roles, so Keycloak could not connect; fix: remove login: false, or set identity.role to keycloak (the owner of keycloak)",
        ]);
        expect(problems(labConfig({ identity: { role: "analyst" } }))).toEqual([
            "swarm-etl:identity.role: analyst neither owns keycloak (its owner is keycloak) nor has a write grant on its schema public, where Keycloak creates its tables; fix: set identity.role to keycloak, or make analyst the owner in postgres.databases",
        ]);
        // A role with write on the database's schema public may run it.
        const writer = [{ name: "kc_app", grants: [{ database: "keycloak", privileges: "write" }] }];
        expect(() => parseStackConfig(labConfig({ postgres: { roles: writer }, etl: { enabled: false }, identity: { role: "kc_app" } }))).not.toThrow();
    });

    test("its image missing, or not pinned by digest outside the lab", () => {
        const { "identity-keycloak": _drop, ...images } = LAB_IMAGES;
        expect(problems(labConfig({ images }))).toEqual([`swarm-etl:images.identity-keycloak: is not set, and identity is enabled; ${IMAGE_FIX}`]);
        const tagged = { ...LAB_IMAGES, "identity-keycloak": "198.18.20.2:5000/swarm-etl/identity-keycloak:26" };
        expect(problems(labConfig({ profile: "prod", ...PROD_MINIMAL, images: tagged }))).toEqual([
            'swarm-etl:images.identity-keycloak: "198.18.20.2:5000/swarm-etl/identity-keycloak:26" is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)',
        ]);
        expect(() => parseStackConfig(labConfig({ images: tagged }))).not.toThrow();
    });

    test("an unknown key (a typo)", () => {
        expect(problems(labConfig({ identity: { replica: 2 } }))).toEqual(["swarm-etl:identity.replica: unknown key; fix: remove it or correct its spelling (see the configuration reference in README.md)"]);
    });
});
