// The PostgreSQL component's pure parts: its slice of the stack config (every problem with its key
// and its fix), the component's own argument check, the files it renders (Patroni, the router's spec, etcd,
// the reconcile job's spec) and the parameter allow-list.
import * as YAML from "yaml";
import { parseStackConfig } from "../../config/schema";
import { resolveBackupNode, resolvePostgresNodes } from "../../components/stacks/postgres/config";
import { parameterProblem } from "../../components/stacks/postgres/parameters";
import { planPostgres, PostgresCluster, PostgresClusterArgs } from "../../components/stacks/postgres/postgresCluster";
import { dcsEnv, patroniConfig, PostgresPlan, reconcileSpec, routerSpec } from "../../components/stacks/postgres/render";
import { memberConf, repositoryConf, restoreBootstrap, s3CredentialsConf, s3Options } from "../../components/stacks/postgres/backup";
import { PgBackupRepository, repositoryProblems } from "../../components/stacks/postgres/backupRepository";
import { HOST_KEY, installMocks, LAB_IMAGES, labConfig, configProblems, Registered, valueOf } from "./mocks";
import * as pulumi from "@pulumi/pulumi";

const problems = configProblems;

/** The lab config with `postgres` set to `pg`. */
/** The lab config with `postgres` set to `pg` (Spark, the ETL and Keycloak off: these tests change the nodes, databases and roles they need). */
const withPostgres = (pg: Record<string, unknown>, overrides: Record<string, unknown> = {}) => labConfig({ postgres: pg, spark: { enabled: false }, etl: { enabled: false }, identity: { enabled: false }, ...overrides });

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
                { name: "etl_writer", grants: [{ database: "warehouse", privileges: "write", schemas: ["flights"] }] },
                { name: "analyst", grants: [{ database: "warehouse", privileges: "read", schemas: ["flights"] }] },
            ],
            failover: { ttl: 10, loopWait: 2, retryTimeout: 4 },
            resources: { cpus: 1, memory: "1G" },
            routerReplicas: 2,
            backup: { enabled: true, keepRuns: 3, retention: { full: 2, diff: 6 }, schedules: { full: "0 1 * * 0", diff: "0 1 * * 1-6" } },
        });
        const nodes = [...cfg.managers.map((m) => ({ ...m, role: "manager" as const })), ...cfg.workers.map((w) => ({ ...w, role: "worker" as const }))];
        expect(resolvePostgresNodes(cfg.postgres, nodes)).toEqual({ members: ["wkr1", "wkr2"], dcs: ["mgr1", "mgr2", "mgr3"] });
        // The repository: the first active node without a member, unless a node is labelled for it.
        expect(resolveBackupNode(cfg.postgres, nodes)).toBe("mgr1");
        const labelled = nodes.map((n) => (n.name === "mgr3" ? { ...n, labels: { "swarm-etl.backup": "true" } } : n));
        expect(resolveBackupNode(cfg.postgres, labelled)).toBe("mgr3");
    });

    test("a backup schedule that is not a cron expression, a repository on a member's node, on a drained node, on no node", () => {
        const ex = 'fix: e.g. "0 1 * * 0" (Sundays 01:00)';
        expect(problems(withPostgres({ backup: { schedules: { full: "every sunday", diff: "0 25 * * *" } } }))).toEqual([
            `swarm-etl:postgres.backup.schedules.full: "every sunday" is not a cron expression of five fields (minute hour day-of-month month day-of-week, UTC); ${ex}`,
            `swarm-etl:postgres.backup.schedules.diff: "0 25 * * *" is not a cron expression: Constraint error, got value 25 expected range 0-23; ${ex}`,
        ]);
        expect(problems(withPostgres({ backup: { schedules: { full: "0 0 1 1 * *" } } }))).toEqual([
            `swarm-etl:postgres.backup.schedules.full: "0 0 1 1 * *" is not a cron expression of five fields (minute hour day-of-month month day-of-week, UTC); ${ex}`,
        ]);
        expect(problems(withPostgres({ backup: { node: "wkr1" } }))).toEqual([
            "swarm-etl:postgres.backup.node: wkr1 runs a PostgreSQL member: losing it could lose the primary and its backups together; fix: choose a node without a member",
        ]);
        expect(problems(withPostgres({ backup: { node: "mgr9" } }))).toEqual(['swarm-etl:postgres.backup.node: "mgr9" is not a node of the stack (nodes: mgr1, mgr2, mgr3, wkr1, wkr2); fix: name one of them']);
        expect(problems(labConfig({ profile: "prod", postgres: { backup: { node: "mgr2" } }, observability: { enabled: false } }))).toEqual([
            'swarm-etl:postgres.backup.node: mgr2 is drained, so the repository could not run there; fix: choose an active node (label it swarm-etl.backup: "true")',
        ]);
        expect(problems(labConfig({ profile: "prod", observability: { enabled: false } }))).toEqual([
            "swarm-etl:postgres.backup.node: no node can hold the backup repository (every active node runs a member); fix: add a node labelled swarm-etl.backup=true, set postgres.backup.node, or set postgres.backup.enabled false",
        ]);
        expect(problems(withPostgres({ backup: { retention: { full: 0 } } }))).toEqual(["swarm-etl:postgres.backup.retention.full: 0 must be 1 or more; fix: use a number of at least 1"]);
        expect(problems(withPostgres({ backup: { path: "srv/pgbackrest" } }))).toEqual([
            'swarm-etl:postgres.backup.path: "srv/pgbackrest" is not an absolute path; fix: e.g. /srv/pgbackrest (a mount on the repository\'s node)',
        ]);
    });

    test("S3 storage: a bad endpoint, bucket, path, region or CA, and S3 together with a path", () => {
        const s3 = { endpoint: "s3.example.net:9000", bucket: "pg-backups", accessKeyId: "AKIA0000", secretAccessKey: "x" };
        expect(parseStackConfig(withPostgres({ backup: { s3 } })).postgres.backup.s3).toEqual(s3);
        expect(problems(withPostgres({ backup: { s3: { ...s3, endpoint: "https://s3.example.net", bucket: "PG_Backups", path: "pgbackrest", region: "EU 1", ca: "hello" } } }))).toEqual([
            'swarm-etl:postgres.backup.s3.endpoint: "https://s3.example.net" is not host or host:port; fix: e.g. s3.eu-central-1.amazonaws.com or minio.internal:9000 (HTTPS is implied)',
            'swarm-etl:postgres.backup.s3.bucket: "PG_Backups" is not an S3 bucket name; fix: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
            'swarm-etl:postgres.backup.s3.path: "pgbackrest" does not start with /; fix: e.g. /pgbackrest',
            'swarm-etl:postgres.backup.s3.region: "EU 1" is not a region name; fix: e.g. eu-central-1',
            "swarm-etl:postgres.backup.s3.ca: is not a PEM certificate; fix: the CA's certificate, -----BEGIN CERTIFICATE----- included",
        ]);
        expect(problems(withPostgres({ backup: { s3, path: "/srv/pgbackrest" } }))).toEqual([
            "swarm-etl:postgres.backup.path: is set, and so is postgres.backup.s3: the repository is in one place; fix: remove one of them",
        ]);
    });

    test("a restore from a stanza the repository does not keep, to a timestamp without its zone, to a restore point that is not a name", () => {
        expect(problems(withPostgres({ restore: { stanza: "other", target: { time: "2026-12-01 12:00" } } }))).toEqual([
            'swarm-etl:postgres.restore.stanza: "other" is not a stanza of the backup repository (it has pg); fix: name the cluster whose backups to restore',
            'swarm-etl:postgres.restore.target.time: "2026-12-01 12:00" is not a timestamp with its zone; fix: e.g. "2026-12-01 12:00:00+00"',
        ]);
        expect(problems(withPostgres({ restore: { target: { name: "before load" } } }))).toEqual([
            'swarm-etl:postgres.restore.target.name: "before load" is not a restore point name (letters, digits, _ . -, at most 63); fix: the name given to pg_create_restore_point()',
        ]);
        expect(problems(withPostgres({ restore: {}, backup: { enabled: false } }))).toEqual([
            "swarm-etl:postgres.restore: restores from the backup repository, but postgres.backup.enabled is false; fix: enable backups (the repository), or remove postgres.restore",
        ]);
        expect(parseStackConfig(withPostgres({ restore: { target: { time: "2026-12-01 12:00:00+00" } } })).postgres.restore).toEqual({ stanza: "pg", target: { time: "2026-12-01 12:00:00+00" } });
    });

    test("postgres disabled needs neither the images nor labelled nodes", () => {
        const workers = [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY }));
        expect(() => parseStackConfig(withPostgres({ enabled: false }, { images: {}, workers, observability: { enabled: false } }))).not.toThrow();
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

    test("member resources: CPUs and memory that are not, and shared_buffers past half of the memory", () => {
        expect(problems(withPostgres({ resources: { cpus: 0 } }))).toEqual(["swarm-etl:postgres.resources.cpus: 0 must be more than 0; fix: use a number above 0"]);
        expect(problems(withPostgres({ resources: { memory: "lots" } }))).toEqual([
            'swarm-etl:postgres.resources.memory: "lots" is not a size; fix: a number with a unit, e.g. "4G" or "512M"',
        ]);
        expect(problems(withPostgres({ resources: { memory: "128M" } }))).toEqual([
            'swarm-etl:postgres.resources.memory: "128M" is less than the 256M a member needs (PostgreSQL, Patroni and pgBackRest\'s server share it); fix: 256M or more, e.g. "1G"',
        ]);
        // The default member (1G) with prod's old shared_buffers: refused, with both ways out.
        expect(problems(withPostgres({ parameters: { shared_buffers: "1GB" } }))).toEqual([
            'swarm-etl:postgres.parameters.shared_buffers: "1GB" is more than half of each member\'s memory (postgres.resources.memory 1G): the connections\' own memory would not fit beside it and the kernel would kill the member under load; fix: lower shared_buffers to at most 512MB (a quarter, 256MB, is usual), or raise postgres.resources.memory to at least 2G',
        ]);
        // A bare number counts 8kB pages, as PostgreSQL reads it: 65536 pages = 512MB, half of 1G, is fine; one more is not.
        expect(() => parseStackConfig(withPostgres({ parameters: { shared_buffers: 65536 } }))).not.toThrow();
        expect(problems(withPostgres({ parameters: { shared_buffers: 65537 } }))[0]).toMatch(/^swarm-etl:postgres\.parameters\.shared_buffers: 65537 is more than half/);
        expect(parseStackConfig(withPostgres({ resources: { cpus: 2.5, memory: "4G" }, parameters: { shared_buffers: "1GB" } })).postgres.resources).toEqual({ cpus: 2.5, memory: "4G" });
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
        const workers = [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY, labels: { "swarm-etl.postgres": "true", "swarm-etl.spark": "worker" }, ...(i === 2 ? { availability: "drain" } : {}) }));
        expect(problems(labConfig({ workers }))).toEqual([
            "swarm-etl:postgres.members[1]: wkr2 is drained, so its member could not run; fix: set its availability active, or choose another node",
        ]);
        expect(problems(withPostgres({ members: ["wkr1", "wkr1"] }))).toEqual(["swarm-etl:postgres.members: lists wkr1 twice; fix: one member per node"]);
    });

    test("no member: no labelled node, or an empty list", () => {
        const workers = [1, 2].map((i) => ({ name: `wkr${i}`, privateAddress: `198.18.20.${20 + i}`, hostKey: HOST_KEY }));
        expect(problems(labConfig({ workers, spark: { enabled: false }, etl: { enabled: false } }))).toEqual([
            'swarm-etl:postgres.members: no node is labelled swarm-etl.postgres=true; fix: label the nodes that should run PostgreSQL (labels: {swarm-etl.postgres: "true"}), list them under postgres.members, or set postgres.enabled false',
        ]);
        expect(problems(withPostgres({ members: [] }))).toEqual(["swarm-etl:postgres.members: lists no node; fix: list the nodes that run a PostgreSQL member (2 or more for failover)"]);
    });

    test("the images missing", () => {
        const fix = "fix: run `images/build.sh --registry <registry> --via <manager> --stack <stack>` (the lab: `images/build.sh --lab`), which records it";
        expect(problems(labConfig({ images: {}, observability: { enabled: false } }))).toEqual([
            `swarm-etl:images.postgres: is not set, and postgres is enabled; ${fix}`,
            `swarm-etl:images.postgres-etcd: is not set, and postgres is enabled; ${fix}`,
            `swarm-etl:images.postgres-router: is not set, and postgres is enabled; ${fix}`,
            `swarm-etl:images.scheduler: is not set, and postgres is enabled; ${fix}`,
            `swarm-etl:images.spark: is not set, and spark is enabled; ${fix}`,
            `swarm-etl:images.etl-pushgateway: is not set, and etl is enabled; ${fix}`,
            `swarm-etl:images.identity-keycloak: is not set, and identity is enabled; ${fix}`,
            `swarm-etl:images.edge-proxy: is not set, and the edge is enabled; ${fix}`,
            `swarm-etl:images.edge-auth: is not set, and the edge is enabled; ${fix}`,
        ]);
    });

    test("an image not pinned by digest: refused in prod, accepted in the lab", () => {
        const images = { ...LAB_IMAGES, postgres: "198.18.20.2:5000/swarm-etl/postgres:15" };
        expect(problems(labConfig({ profile: "prod", images, postgres: { backup: { enabled: false } }, observability: { enabled: false } }))).toEqual([
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

describe("the component under mocks", () => {
    let registered: Registered[];
    beforeAll(async () => {
        registered = installMocks();
        const pg = new PostgresCluster("pg", { ...ARGS, resources: { cpus: 2, memory: "4G" }, routerConstraints: ["node.hostname!=mgr1"] });
        await valueOf(pulumi.output(pg.router.urn));
        for (let i = 0; i < 200 && !registered.some((r) => r.name === "pg-wkr2"); i++) await new Promise((r) => setTimeout(r, 10));
    });

    test("the members get postgres.resources as their limits, and their nodes are checked for them; other nodes only for the images", () => {
        const member = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === "pg-wkr1")!.inputs as Record<string, any>;
        expect(member.resources).toEqual({ limits: { cpus: 2, memory: "4G" } });
        const checks = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/swarm:ImageCheck");
        const needs = (c: Registered) => [c.name, (c.inputs.memory as { bytes: number } | undefined)?.bytes, (c.inputs.cpus as { count: number } | undefined)?.count];
        expect(checks.map(needs).sort()).toEqual([
            ["pg-mgr1-images", undefined, undefined],
            ["pg-mgr2-images", undefined, undefined],
            ["pg-mgr3-images", undefined, undefined],
            ["pg-wkr1-images", 4 * 1024 ** 3, 2],
            ["pg-wkr2-images", 4 * 1024 ** 3, 2],
        ]);
        expect((checks.find((c) => c.name === "pg-wkr2-images")!.inputs.cpus as { what: string }).what).toBe("a PostgreSQL member (postgres.resources.cpus 2)");
    });

    test("the router's tasks go where routerConstraints says, one per node, spread", () => {
        const router = registered.find((r) => r.type === "pulumi-nodejs:dynamic/swarm:Service" && r.name === "pg-router")!.inputs as Record<string, any>;
        expect(router.constraints).toEqual(["node.hostname!=mgr1"]);
        expect(router.maxReplicasPerNode).toBe(1);
        expect(router.preferences).toEqual(["node.hostname"]);
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

describe("backup and restore arguments", () => {
    /** What the cluster reads of a repository (its resources are the program test's). */
    const repo = (stanzas: Record<string, string[]>, node = "mgr1") => ({ name: "pg-backup", node, stanzas: Object.keys(stanzas) }) as unknown as PgBackupRepository;

    test("a repository on a member's node, a repository without the cluster's stanza, a restore from a stanza it lacks, a bad schedule: every problem at once", () => {
        const args: PostgresClusterArgs = {
            ...ARGS,
            backup: { repository: repo({ other: ["other-wkr1"] }, "wkr1"), schedules: { full: "0 1 * * 0", diff: "daily" } },
            restore: { stanza: "old", target: { name: "x y" } },
        };
        expect(() => planPostgres("pg", args)).toThrow(
            new Error(
                "PostgresCluster pg: " +
                    [
                        "the backup repository's node wkr1 runs a member: losing that node could lose the primary and its backups together; fix: put the repository on a node without a member",
                        "the backup repository pg-backup keeps no stanza pg (it has other); fix: add pg and its members to the repository's stanzas",
                        'restore.stanza: "old" is not a stanza of the backup repository (it has other); fix: name the cluster whose backups to restore',
                        'restore.target.name: "x y" is not a restore point name (letters, digits, _ . -, at most 63); fix: the name given to pg_create_restore_point()',
                        'backup.schedules.diff: "daily" is not a cron expression of five fields (minute hour day-of-month month day-of-week, UTC); fix: e.g. "0 1 * * 0" (Sundays 01:00)',
                    ].join("; "),
            ),
        );
        expect(() => planPostgres("pg", { ...ARGS, restore: { stanza: "pg" } })).toThrow("restore needs backup.repository (the repository the stanza is in)");
        expect(repositoryProblems({ node: "mgr1", stanzas: {}, retention: { full: 0, diff: 1 }, path: "srv" })).toEqual([
            "retention.full must be a whole number from 1 to 100, got 0",
            "no stanza: give the clusters whose backups it keeps",
            'path "srv" is not an absolute path; fix: e.g. /srv/pgbackrest (a mount on mgr1)',
        ]);
    });

    test("with backups, Patroni archives every WAL segment to the repository, and a standby reads the archive", () => {
        const plan = planPostgres("pg", { ...ARGS, backup: { repository: repo({ pg: ["pg-wkr1", "pg-wkr2"] }) } });
        const doc = YAML.parse(patroniConfig(plan), { version: "1.1" });
        expect(doc.bootstrap.dcs.postgresql.parameters).toMatchObject({ archive_mode: "on", archive_command: "pgbackrest --stanza=pg archive-push %p", archive_timeout: 60 });
        expect(doc.postgresql.recovery_conf).toEqual({ restore_command: 'pgbackrest --stanza=pg archive-get %f "%p"' });
        expect(doc.bootstrap.method).toBeUndefined();
    });

    test("a restore bootstraps with pgBackRest instead of initdb: to the end of the WAL, a restore point, a timestamp", () => {
        expect(restoreBootstrap({ stanza: "pg" })).toEqual({
            method: "pgbackrest",
            pgbackrest: {
                command: "swarm-etl-pg-restore pg",
                keep_existing_recovery_conf: false,
                recovery_conf: { restore_command: 'pgbackrest --stanza=pg archive-get %f "%p"', recovery_target_action: "promote", recovery_target_timeline: "latest" },
            },
        });
        expect(restoreBootstrap({ stanza: "pg", target: { name: "mark" } }).pgbackrest).toMatchObject({ command: "swarm-etl-pg-restore pg name mark", recovery_conf: { recovery_target_name: "mark" } });
        expect(restoreBootstrap({ stanza: "pg", target: { time: "2026-12-01 12:00:00+00" } }).pgbackrest).toMatchObject({
            command: "swarm-etl-pg-restore pg time '2026-12-01 12:00:00+00'",
            recovery_conf: { recovery_target_time: "2026-12-01 12:00:00+00" },
        });
    });

    test("an S3 repository: pgBackRest's S3 options, the credentials only in their own file, the locks on the node", () => {
        const conf = repositoryConf({ name: "pg-backup", stanzas: { pg: ["pg-wkr1"] }, retention: { full: 2, diff: 6 }, s3: { endpoint: "s3.lab:8443", bucket: "pg-backups", uriStyle: "path", ca: "-----BEGIN CERTIFICATE-----" } });
        expect(conf).toContain("repo1-type=s3\nrepo1-path=/pgbackrest\nrepo1-s3-bucket=pg-backups\nrepo1-s3-endpoint=s3.lab\nrepo1-s3-region=us-east-1\nrepo1-s3-uri-style=path\nrepo1-storage-port=8443\nrepo1-storage-ca-file=/etc/pgbackrest/s3-ca.pem\n");
        expect(conf).toContain("lock-path=/var/lib/pgbackrest/lock");
        expect(conf).not.toMatch(/s3-key|verify-tls/);
        expect(s3Options({ endpoint: "s3.amazonaws.com", bucket: "b-1", verifyTls: false })).toEqual({
            "repo1-type": "s3", "repo1-path": "/pgbackrest", "repo1-s3-bucket": "b-1", "repo1-s3-endpoint": "s3.amazonaws.com", "repo1-s3-region": "us-east-1", "repo1-s3-uri-style": "host", "repo1-storage-verify-tls": "n",
        });
        expect(s3CredentialsConf("AKIA0000", "s3cr3t")).toBe("[global]\nrepo1-s3-key=AKIA0000\nrepo1-s3-key-secret=s3cr3t\n");
    });

    test("snapshots: the repository's and a member's pgbackrest.conf (TLS both ways, no password)", () => {
        const repoConf = repositoryConf({ name: "pg-backup", stanzas: { pg: ["pg-wkr1", "pg-wkr2"] }, retention: { full: 2, diff: 6 } });
        expect(repoConf).toMatchSnapshot("repository pgbackrest.conf");
        const member = memberConf("pg-backup", "pgr", "pg");
        expect(member).toMatchSnapshot("member pgbackrest.conf");
        for (const conf of [repoConf, member]) {
            expect(conf).toContain("tls-server-auth=pgbackrest=*");
            expect(conf).not.toMatch(/pass|cipher/i);
        }
    });
});

describe("the renderers (2 members, 3 etcd members)", () => {
    test("snapshots: Patroni's config, the router's spec, the reconcile spec, the etcd members' environment", () => {
        expect(patroniConfig(PLAN)).toMatchSnapshot("patroni.yml");
        expect(routerSpec(PLAN)).toMatchSnapshot("router.json");
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

    test("the router: every member checked on Patroni's port, the primary on :5432, the replicas on :5433, health on :8404", () => {
        expect(JSON.parse(routerSpec(PLAN))).toEqual({ members: ["pg-wkr1", "pg-wkr2"], port: 5432, patroniPort: 8008, primaryPort: 5432, replicaPort: 5433, healthPort: 8404 });
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
