// The PostgreSQL component's pure parts: its slice of the stack config (every problem with its key
// and its fix), the component's own argument check, the files it renders (Patroni, HAProxy, etcd,
// the reconcile job's spec) and the parameter allow-list.
import * as YAML from "yaml";
import { ConfigError, parseStackConfig } from "../../config/schema";
import { resolvePostgresNodes } from "../../components/stacks/postgres/config";
import { parameterProblem } from "../../components/stacks/postgres/parameters";
import { planPostgres, PostgresCluster, PostgresClusterArgs } from "../../components/stacks/postgres/postgresCluster";
import { dcsEnv, patroniConfig, PostgresPlan, reconcileSpec, routerConfig } from "../../components/stacks/postgres/render";
import { HOST_KEY, installMocks, LAB_IMAGES, labConfig } from "./mocks";

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(raw);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    throw new Error("the configuration was accepted");
}

/** The lab config with `postgres` set to `pg`. */
const withPostgres = (pg: Record<string, unknown>, overrides: Record<string, unknown> = {}) => labConfig({ postgres: pg, ...overrides });

const IDENT_FIX = "fix: lower-case letters, digits and _, starting with a letter or _, at most 63 characters";

describe("the postgres slice of the stack config", () => {
    test("the lab config is valid, and postgres defaults to members on the labelled workers and etcd on the 3 managers", () => {
        const cfg = parseStackConfig(labConfig());
        expect(cfg.postgres).toEqual({
            enabled: true,
            parameters: {},
            databases: [
                { name: "warehouse", owner: "warehouse" },
                { name: "keycloak", owner: "keycloak" },
            ],
            roles: [
                { name: "etl_writer", grants: [{ database: "warehouse", privileges: "write" }] },
                { name: "analyst", grants: [{ database: "warehouse", privileges: "read" }] },
            ],
            failover: { ttl: 10, loopWait: 2, retryTimeout: 4 },
            routerReplicas: 2,
        });
        const nodes = [...cfg.managers.map((m) => ({ ...m, role: "manager" as const })), ...cfg.workers.map((w) => ({ ...w, role: "worker" as const }))];
        expect(resolvePostgresNodes(cfg.postgres, nodes)).toEqual({ members: ["wkr1", "wkr2"], dcs: ["mgr1", "mgr2", "mgr3"] });
    });

    test("postgres disabled needs neither the images nor labelled nodes", () => {
        const workers = [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY }));
        expect(() => parseStackConfig(withPostgres({ enabled: false }, { images: {}, workers }))).not.toThrow();
    });

    test("an even number of etcd members (and, unlabelled, nodes that lack the etcd label)", () => {
        expect(problems(withPostgres({ dcs: ["mgr1", "mgr2"] }))).toEqual([
            "swarm-etl:postgres.dcs: 2 etcd members cannot survive the loss of one (etcd needs a majority); fix: list 1, 3 or 5 nodes",
            'swarm-etl:postgres.dcs[0]: mgr1 lacks the node label swarm-etl.etcd=true; fix: add labels: {swarm-etl.etcd: "true"} to mgr1, or choose a labelled node',
            'swarm-etl:postgres.dcs[1]: mgr2 lacks the node label swarm-etl.etcd=true; fix: add labels: {swarm-etl.etcd: "true"} to mgr2, or choose a labelled node',
        ]);
        const managers = (labConfig().managers as Record<string, unknown>[]).map((m) => ({ ...m, labels: { "swarm-etl.etcd": "true" } }));
        expect(problems(withPostgres({ dcs: ["mgr1", "mgr2"] }, { managers }))).toEqual([
            "swarm-etl:postgres.dcs: 2 etcd members cannot survive the loss of one (etcd needs a majority); fix: list 1, 3 or 5 nodes",
        ]);
    });

    test("synchronous replication with one member", () => {
        expect(problems(withPostgres({ members: ["wkr1"], synchronous: true }))).toEqual([
            "swarm-etl:postgres.synchronous: synchronous replication needs a standby, but there is 1 member; fix: list 2 or more members, or set synchronous false",
        ]);
        expect(() => parseStackConfig(withPostgres({ members: ["wkr1"] }))).not.toThrow();
    });

    test("a parameter not on the allow-list, with the near names", () => {
        expect(problems(withPostgres({ parameters: { shared_buffer: "1GB", wal_level: "logical" } }))).toEqual([
            "swarm-etl:postgres.parameters.shared_buffer: shared_buffer is not a parameter a stack may set (did you mean shared_buffers?); fix: use one of the parameters listed in docs/postgres.md (Patroni owns replication and connection settings)",
            "swarm-etl:postgres.parameters.wal_level: wal_level is not a parameter a stack may set (did you mean wal_keep_size, wal_compression?); fix: use one of the parameters listed in docs/postgres.md (Patroni owns replication and connection settings)",
        ]);
    });

    test("ill-typed parameters", () => {
        expect(problems(withPostgres({ parameters: { shared_buffers: "lots", max_connections: 5 } }))).toEqual([
            `swarm-etl:postgres.parameters.shared_buffers: shared_buffers: "lots" is not a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter's unit; fix: write a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter's unit`,
            "swarm-etl:postgres.parameters.max_connections: max_connections: 5 is not a whole number from 10 to 10000; fix: write a whole number from 10 to 10000",
        ]);
    });

    test("a database name that is not an identifier", () => {
        const databases = [
            { name: "warehouse", owner: "warehouse" },
            { name: "Ware-House", owner: "warehouse" },
        ];
        expect(problems(withPostgres({ databases }))).toEqual([`swarm-etl:postgres.databases[1].name: "Ware-House" is not a valid database name; ${IDENT_FIX}`]);
    });

    test("PostgreSQL's own database, a reserved owner", () => {
        const databases = [
            { name: "warehouse", owner: "warehouse" },
            { name: "template1", owner: "postgres" },
        ];
        expect(problems(withPostgres({ databases }))).toEqual([
            'swarm-etl:postgres.databases[1].owner: "postgres" is reserved (PostgreSQL or Patroni uses it); fix: choose another name',
            'swarm-etl:postgres.databases[1].name: "template1" is PostgreSQL\'s own database; fix: choose another name',
        ]);
    });

    test("a role name that is not an identifier, reserved role names", () => {
        expect(problems(withPostgres({ roles: [{ name: "ETL Writer" }, { name: "postgres" }, { name: "pg_etl" }] }))).toEqual([
            `swarm-etl:postgres.roles[0].name: "ETL Writer" is not a valid role name; ${IDENT_FIX}`,
            'swarm-etl:postgres.roles[1].name: "postgres" is reserved (PostgreSQL or Patroni uses it); fix: choose another name',
            'swarm-etl:postgres.roles[2].name: "pg_etl" is reserved (PostgreSQL or Patroni uses it); fix: choose another name',
        ]);
    });

    test("a grant on a database that is not listed, a schema that is not an identifier", () => {
        const roles = [{ name: "analyst", grants: [{ database: "sales", privileges: "read" }, { database: "warehouse", privileges: "read", schemas: ["Staging"] }] }];
        expect(problems(withPostgres({ roles }))).toEqual([
            'swarm-etl:postgres.roles[0].grants[0].database: "sales" is not one of the databases; fix: use one of warehouse, keycloak',
            `swarm-etl:postgres.roles[0].grants[1].schemas[0]: "Staging" is not a valid schema name; ${IDENT_FIX}`,
        ]);
    });

    test("a member on a node that does not exist", () => {
        expect(problems(withPostgres({ members: ["wkr1", "wkr9"] }))).toEqual([
            "swarm-etl:postgres.members[1]: wkr9 is not a node of the cluster; fix: use one of mgr1, mgr2, mgr3, wkr1, wkr2",
        ]);
    });

    test("a member on a node that lacks the label, on a drained node, twice on one node", () => {
        expect(problems(withPostgres({ members: ["mgr1", "wkr1"] }))).toEqual([
            'swarm-etl:postgres.members[0]: mgr1 lacks the node label swarm-etl.postgres=true; fix: add labels: {swarm-etl.postgres: "true"} to mgr1, or choose a labelled node',
        ]);
        const workers = [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY, labels: { "swarm-etl.postgres": "true" }, ...(i === 2 ? { availability: "drain" } : {}) }));
        expect(problems(labConfig({ workers }))).toEqual([
            "swarm-etl:postgres.members[1]: wkr2 is drained, so its member could not run; fix: set its availability active, or choose another node",
        ]);
        expect(problems(withPostgres({ members: ["wkr1", "wkr1"] }))).toEqual(["swarm-etl:postgres.members: lists wkr1 twice; fix: one member per node"]);
    });

    test("no member: no labelled node, or an empty list", () => {
        const workers = [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY }));
        expect(problems(labConfig({ workers }))).toEqual([
            'swarm-etl:postgres.members: no node is labelled swarm-etl.postgres=true; fix: label the nodes that should run PostgreSQL (labels: {swarm-etl.postgres: "true"}), list them under postgres.members, or set postgres.enabled false',
        ]);
        expect(problems(withPostgres({ members: [] }))).toEqual(["swarm-etl:postgres.members: lists no node; fix: list the nodes that run a PostgreSQL member (2 or more for failover)"]);
    });

    test("the images missing", () => {
        const fix = "fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it";
        expect(problems(labConfig({ images: {} }))).toEqual([
            `swarm-etl:images.postgres: is not set, and postgres is enabled; ${fix}`,
            `swarm-etl:images.postgres-etcd: is not set, and postgres is enabled; ${fix}`,
            `swarm-etl:images.postgres-router: is not set, and postgres is enabled; ${fix}`,
        ]);
    });

    test("an image not pinned by digest: refused in prod, accepted in the lab", () => {
        const images = { ...LAB_IMAGES, postgres: "198.18.20.2:5000/swarm-etl/postgres:15" };
        expect(problems(labConfig({ profile: "prod", images }))).toEqual([
            'swarm-etl:images.postgres: "198.18.20.2:5000/swarm-etl/postgres:15" is not pinned by digest; fix: use the reference images/build.sh recorded (<registry>/<repo>@sha256:…)',
        ]);
        expect(() => parseStackConfig(labConfig({ images }))).not.toThrow();
    });

    test("a primary that is not a member", () => {
        expect(problems(withPostgres({ primary: "mgr1" }))).toEqual(["swarm-etl:postgres.primary: mgr1 is not a member; fix: use one of wkr1, wkr2, or remove the key"]);
    });

    test("failover timing Patroni refuses (ttl < loopWait + 2 × retryTimeout)", () => {
        expect(problems(withPostgres({ failover: { ttl: 10, loopWait: 5, retryTimeout: 4 } }))).toEqual([
            "swarm-etl:postgres.failover: ttl 10 is shorter than loopWait + 2 × retryTimeout (13), which Patroni refuses; fix: raise ttl or lower loopWait/retryTimeout (e.g. ttl 10, loopWait 2, retryTimeout 4)",
        ]);
        expect(() => parseStackConfig(withPostgres({ failover: { ttl: 30, loopWait: 10, retryTimeout: 10 } }))).not.toThrow();
    });

    test("several problems are reported at once", () => {
        expect(problems(withPostgres({ members: ["wkr1"], synchronous: true, primary: "wkr2", dcs: ["mgr1"] }))).toEqual([
            "swarm-etl:postgres.synchronous: synchronous replication needs a standby, but there is 1 member; fix: list 2 or more members, or set synchronous false",
            "swarm-etl:postgres.primary: wkr2 is not a member; fix: use one of wkr1, or remove the key",
            'swarm-etl:postgres.dcs[0]: mgr1 lacks the node label swarm-etl.etcd=true; fix: add labels: {swarm-etl.etcd: "true"} to mgr1, or choose a labelled node',
        ]);
    });
});

const conn = { name: "mgr1", host: "198.18.20.11", port: 22, user: "root", hostKey: HOST_KEY };
const nodeConnections = Object.fromEntries(["mgr1", "mgr2", "mgr3", "wkr1", "wkr2"].map((n) => [n, { ...conn, name: n }]));
const ARGS: PostgresClusterArgs = {
    connection: conn,
    privateKey: "KEY",
    nodeConnections,
    images: { postgres: LAB_IMAGES.postgres, etcd: LAB_IMAGES["postgres-etcd"], router: LAB_IMAGES["postgres-router"] },
    members: ["wkr1", "wkr2"],
    dcs: ["mgr1", "mgr2", "mgr3"],
};

describe("the component's arguments", () => {
    installMocks();

    test("planPostgres and the constructor throw every problem at once, each with its argument", () => {
        const bad: PostgresClusterArgs = { ...ARGS, members: ["wkr1", "wkr3"], dcs: ["mgr1", "mgr2"], parameters: { jit: "yes" }, roles: [{ name: "analyst", grants: [{ database: "warehouse", privileges: "read" }] }] };
        const message =
            "PostgresCluster pg: " +
            [
                "dcs: 2 etcd members cannot survive the loss of one (etcd needs a majority); fix: list 1, 3 or 5 nodes",
                "members[1]: wkr3 is not a node of the cluster; fix: use one of mgr1, mgr2, mgr3, wkr1, wkr2",
                'parameters.jit: jit: "yes" is not true or false; fix: write true or false',
                'roles[0].grants[0].database: "warehouse" is not one of the databases; fix: use one of (none: add it under databases)',
            ].join("; ");
        expect(() => planPostgres("pg", bad)).toThrow(new Error(message));
        expect(() => new PostgresCluster("pg", bad)).toThrow(new Error(message));
    });

    test("the plan's defaults: synchronous with 2 or more members, no parameters, databases or roles, the fast failover timing", () => {
        expect(planPostgres("pg", ARGS)).toEqual({
            name: "pg",
            members: ["wkr1", "wkr2"],
            dcs: ["mgr1", "mgr2", "mgr3"],
            synchronous: true,
            parameters: {},
            databases: [],
            roles: [],
            failover: { ttl: 10, loopWait: 2, retryTimeout: 4 },
            primary: undefined,
        });
        expect(planPostgres("pg", { ...ARGS, members: ["wkr1"] }).synchronous).toBe(false);
    });
});

const PLAN: PostgresPlan = {
    name: "pg",
    members: ["wkr1", "wkr2"],
    dcs: ["mgr1", "mgr2", "mgr3"],
    synchronous: true,
    parameters: { shared_buffers: "256MB", max_connections: 200, jit: false },
    databases: [
        { name: "warehouse", owner: "warehouse" },
        { name: "keycloak", owner: "keycloak" },
    ],
    roles: [
        { name: "etl_writer", grants: [{ database: "warehouse", privileges: "write" }] },
        { name: "analyst", grants: [{ database: "warehouse", privileges: "read", schemas: ["public", "marts"] }] },
    ],
    failover: { ttl: 10, loopWait: 2, retryTimeout: 4 },
    primary: "wkr1",
};

/** Every key of a parsed YAML/JSON document, at any depth. */
function keysOf(doc: unknown): string[] {
    if (Array.isArray(doc)) return doc.flatMap(keysOf);
    if (doc && typeof doc === "object") return Object.entries(doc).flatMap(([k, v]) => [k, ...keysOf(v)]);
    return [];
}

describe("the renderers (2 members, 3 etcd members)", () => {
    test("snapshots: Patroni's config, HAProxy's config, the reconcile spec, the etcd members' environment", () => {
        expect(patroniConfig(PLAN)).toMatchSnapshot("patroni.yml");
        expect(routerConfig(PLAN)).toMatchSnapshot("haproxy.cfg");
        expect(reconcileSpec(PLAN)).toMatchSnapshot("reconcile.json");
        expect(Object.fromEntries(PLAN.dcs.map((d) => [d, dcsEnv(PLAN, d)]))).toMatchSnapshot("etcd env");
    });

    test("Patroni's config holds no password, only password files under /run/secrets", () => {
        const text = patroniConfig(PLAN);
        const keys = keysOf(YAML.parse(text));
        expect(keys).not.toContain("password");
        expect(text).not.toMatch(/\bpassword:/);
        const doc = YAML.parse(text);
        expect(doc.postgresql.authentication).toEqual({
            superuser: { username: "postgres", password_file: "/run/secrets/pg-superuser" },
            replication: { username: "replicator", password_file: "/run/secrets/pg-replication" },
            rewind: { username: "rewinder", password_file: "/run/secrets/pg-rewind" },
        });
        expect(doc.restapi.authentication).toEqual({ username: "patroni", password_file: "/run/secrets/pg-restapi" });
        expect(keys.filter((k) => k === "password_file").length).toBe(5);
    });

    test("the DCS settings: the failover timing, synchronous_mode as planned, the parameters after Patroni's own", () => {
        const dcs = YAML.parse(patroniConfig(PLAN)).bootstrap.dcs;
        expect(dcs).toMatchObject({ ttl: 10, loop_wait: 2, retry_timeout: 4, synchronous_mode: true, synchronous_mode_strict: false });
        expect(dcs.postgresql.parameters).toEqual({ wal_level: "replica", hot_standby: "on", wal_log_hints: "on", max_wal_senders: 10, max_replication_slots: 10, shared_buffers: "256MB", max_connections: 200, jit: false });
        const async = YAML.parse(patroniConfig({ ...PLAN, synchronous: false, failover: { ttl: 30, loopWait: 10, retryTimeout: 10 } })).bootstrap.dcs;
        expect(async).toMatchObject({ ttl: 30, loop_wait: 10, retry_timeout: 10, synchronous_mode: false });
        expect(YAML.parse(patroniConfig(PLAN)).etcd3.hosts).toEqual(["pg-etcd-mgr1:2379", "pg-etcd-mgr2:2379", "pg-etcd-mgr3:2379"]);
    });

    test("the reconcile spec: a login role with a password file for every database owner and role, read and write grants, the writers as table creators", () => {
        const spec = JSON.parse(reconcileSpec(PLAN));
        expect(spec.roles).toEqual(
            ["warehouse", "keycloak", "etl_writer", "analyst"].map((name) => ({ name, login: true, passwordFile: `/run/secrets/pg-role-${name}` })),
        );
        for (const owner of PLAN.databases.map((d) => d.owner)) expect(spec.roles.find((r: { name: string }) => r.name === owner)).toMatchObject({ login: true, passwordFile: expect.stringMatching(/^\/run\/secrets\//) });
        expect(spec.grants).toEqual([
            { role: "etl_writer", database: "warehouse", privileges: "write", schemas: ["public"], tableCreators: ["etl_writer"] },
            { role: "analyst", database: "warehouse", privileges: "read", schemas: ["public", "marts"], tableCreators: ["etl_writer"] },
        ]);
        expect(spec).toMatchObject({ host: "pg-router", port: 5432, superuser: "postgres", superuserPasswordFile: "/run/secrets/pg-superuser", primary: "pg-wkr1", databases: PLAN.databases });
        expect(spec.dcs).toMatchObject({ ttl: 10, loop_wait: 2, retry_timeout: 4, synchronous_mode: true });
        expect(keysOf(spec)).not.toContain("password");
        expect("primary" in JSON.parse(reconcileSpec({ ...PLAN, primary: undefined }))).toBe(false);
    });

    test("a role without login gets no password file; its connection limit is kept", () => {
        const spec = JSON.parse(reconcileSpec({ ...PLAN, roles: [{ name: "readers", login: false }, { name: "etl_writer", connectionLimit: 20 }] }));
        expect(spec.roles).toEqual([
            { name: "warehouse", login: true, passwordFile: "/run/secrets/pg-role-warehouse" },
            { name: "keycloak", login: true, passwordFile: "/run/secrets/pg-role-keycloak" },
            { name: "readers", login: false },
            { name: "etl_writer", login: true, passwordFile: "/run/secrets/pg-role-etl_writer", connectionLimit: 20 },
        ]);
    });

    test("HAProxy: both members in both listeners, checked on Patroni's port at /primary and /replica", () => {
        const cfg = routerConfig(PLAN);
        const section = (header: string) => {
            const lines = cfg.split("\n");
            const start = lines.indexOf(header);
            expect(start).toBeGreaterThanOrEqual(0);
            const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
            return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l.trim());
        };
        const servers = ["    server pg-wkr1 pg-wkr1:5432 check port 8008", "    server pg-wkr2 pg-wkr2:5432 check port 8008"];
        expect(section("listen primary")).toEqual(["    bind :5432", "    option httpchk GET /primary", "    http-check expect status 200", ...servers]);
        expect(section("listen replicas")).toEqual(["    bind :5433", "    balance leastconn", "    option httpchk GET /replica", "    http-check expect status 200", ...servers]);
        expect(section("frontend health")).toEqual(["    mode http", "    bind :8404", "    monitor-uri /health"]);
    });

    test("etcd: each member names itself, all members form the initial cluster", () => {
        const env = dcsEnv(PLAN, "mgr2");
        expect(env).toMatchObject({
            ETCD_NAME: "pg-etcd-mgr2",
            ETCD_ADVERTISE_CLIENT_URLS: "http://pg-etcd-mgr2:2379",
            ETCD_INITIAL_ADVERTISE_PEER_URLS: "http://pg-etcd-mgr2:2380",
            ETCD_INITIAL_CLUSTER: "pg-etcd-mgr1=http://pg-etcd-mgr1:2380,pg-etcd-mgr2=http://pg-etcd-mgr2:2380,pg-etcd-mgr3=http://pg-etcd-mgr3:2380",
            ETCD_INITIAL_CLUSTER_STATE: "new",
        });
    });
});

describe("parameterProblem", () => {
    test.each([
        ["size", "shared_buffers", ["256MB", "1 GB", "8kB", 16384]],
        ["duration", "statement_timeout", ["30s", "500ms", "5min", 0, -1]],
        ["bool", "jit", [true, false, "on", "off"]],
        ["int", "max_connections", [10, 200, 10000]],
        ["real", "checkpoint_completion_target", [0, 0.9, 1]],
        ["enum", "log_statement", ["none", "ddl", "mod", "all"]],
    ])("%s values are accepted (%s)", (_kind, name, values) => {
        for (const v of values as (string | number | boolean)[]) expect(parameterProblem(name as string, v)).toBeUndefined();
    });

    test.each([
        ["size", "shared_buffers", "256mb", `shared_buffers: "256mb" is not a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter's unit; fix: write a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter's unit`],
        ["duration", "statement_timeout", "30 sec", `statement_timeout: "30 sec" is not a duration such as 30s (us, ms, s, min, h, d) or a number of the parameter's unit; fix: write a duration such as 30s (us, ms, s, min, h, d) or a number of the parameter's unit`],
        ["bool", "jit", 1, "jit: 1 is not true or false; fix: write true or false"],
        ["int", "max_connections", 100.5, "max_connections: 100.5 is not a whole number from 10 to 10000; fix: write a whole number from 10 to 10000"],
        ["int given as text", "max_connections", "100", 'max_connections: "100" is not a whole number from 10 to 10000; fix: write a whole number from 10 to 10000'],
        ["real", "checkpoint_completion_target", 1.5, "checkpoint_completion_target: 1.5 is not a number from 0 to 1; fix: write a number from 0 to 1"],
        ["enum", "log_statement", "verbose", 'log_statement: "verbose" is not one of none, ddl, mod, all; fix: write one of none, ddl, mod, all'],
        ["text with a quote", "timezone", "Europe/Paris'", `timezone: "Europe/Paris'" is not a single-line string; fix: write a single-line string`],
        ["non-scalar", "work_mem", { mb: 4 }, 'work_mem: {"mb":4} is not a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter\'s unit; fix: write a size such as 256MB (B, kB, MB, GB, TB) or a number of the parameter\'s unit'],
    ])("a wrong %s is refused (%s = %p)", (_kind, name, value, message) => {
        expect(parameterProblem(name as string, value)).toBe(message);
    });

    test("a parameter Patroni owns, or not on the list, is refused", () => {
        expect(parameterProblem("listen_addresses", "*")).toBe(
            "listen_addresses is not a parameter a stack may set; fix: use one of the parameters listed in docs/postgres.md (Patroni owns replication and connection settings)",
        );
    });
});
