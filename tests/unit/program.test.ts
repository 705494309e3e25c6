// The whole program (index.ts) under mocks, fed the lab's configuration.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import ssh2 = require("ssh2");
import { installMocks, LAB_IMAGES, labConfig, Registered } from "./mocks";

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
        for (let i = 0; i < 200 && !(["demo-web", "swarm-wkr2-spec", "pg-reconcile", "pg-backup-diff", "keycloak"].every((n) => registered.some((r) => r.name === n))); i++) await new Promise((r) => setTimeout(r, 10));
    });

    test("declares the cluster, the data tier, Spark, the ETL, Keycloak, the realm, the edge, metrics, logs, traces and the demo stack, nothing else", () => {
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
                // The data tier: etcd on the 3 managers, members on the 2 labelled workers, router, reconcile job.
                "swarm:stacks:Postgres pg",
                "pulumi-nodejs:dynamic/swarm:Network pg-net",
                ...["patroni", "reconcile", "router"].map((c) => `pulumi-nodejs:dynamic/swarm:Config pg-${c}`),
                ...["replication", "restapi", "rewind", "superuser", "role-analyst", "role-etl_writer", "role-keycloak", "role-warehouse"].map((s) => `pulumi-nodejs:dynamic/swarm:Secret pg-${s}`),
                ...["mgr1", "mgr2", "mgr3"].flatMap((h) => [`pulumi-nodejs:dynamic/swarm:Service pg-etcd-${h}`, `pulumi-nodejs:dynamic/swarm:Volume pg-etcd-${h}-data`]),
                ...["wkr1", "wkr2"].flatMap((h) => [`pulumi-nodejs:dynamic/swarm:Service pg-${h}`, `pulumi-nodejs:dynamic/swarm:Volume pg-${h}-data`]),
                "pulumi-nodejs:dynamic/swarm:Service pg-router",
                "pulumi-nodejs:dynamic/swarm:Service pg-reconcile",
                ...hosts.map((h) => `pulumi-nodejs:dynamic/swarm:ImageCheck pg-${h}-images`),
                // Backups: the scheduler, the repository on mgr1 (no member there), the members'
                // pgbackrest.conf, the first backup's job and the scheduled templates.
                // Spark: master, history (and their volumes) on mgr3, workers on the labelled workers; the ETL job.
                "swarm:stacks:Spark spark",
                "pulumi-nodejs:dynamic/swarm:Network spark-net",
                ...["master", "worker", "history"].map((r) => `pulumi-nodejs:dynamic/swarm:Service spark-${r}`),
                ...["events", "master-recovery"].map((v) => `pulumi-nodejs:dynamic/swarm:Volume spark-${v}`),
                ...["mgr3", "wkr1", "wkr2"].map((h) => `pulumi-nodejs:dynamic/swarm:ImageCheck spark-${h}-images`),
                "swarm:stacks:FlightsEtl etl-flights",
                "pulumi-nodejs:dynamic/swarm:Service etl-flights",
                "pulumi-nodejs:dynamic/swarm:Service etl-flights-pushgateway",
                "pulumi-nodejs:dynamic/swarm:Volume etl-flights-pushgateway-data",
                "pulumi-nodejs:dynamic/swarm:ImageCheck etl-flights-pushgateway-image",
                "swarm:stacks:Scheduler swarm-etl-scheduler",
                "pulumi-nodejs:dynamic/swarm:Service swarm-etl-scheduler",
                "swarm:stacks:PgBackupRepository pg-backup",
                "pulumi-nodejs:dynamic/swarm:Network pg-backup-net",
                "pulumi-nodejs:dynamic/swarm:Secret pg-backup-tls",
                "pulumi-nodejs:dynamic/swarm:Config pg-backup-conf",
                "pulumi-nodejs:dynamic/swarm:Volume pg-backup-data",
                "pulumi-nodejs:dynamic/swarm:Service pg-backup",
                "pulumi-nodejs:dynamic/swarm:Service pg-backup-exporter",
                "pulumi-nodejs:dynamic/swarm:Config pg-pgbackrest",
                ...["init", "full", "diff"].map((k) => `pulumi-nodejs:dynamic/swarm:Service pg-backup-${k}`),
                // Keycloak: its admin client secret (generated, then a Swarm secret), its network and service.
                "swarm:stacks:Keycloak keycloak",
                "pulumi-nodejs:dynamic/swarm:GeneratedPassword keycloak-admin-client-secret",
                "pulumi-nodejs:dynamic/swarm:Secret keycloak-admin",
                "pulumi-nodejs:dynamic/swarm:Network keycloak-net",
                "pulumi-nodejs:dynamic/swarm:Service keycloak",
                // The realm as code: its roles, one group per role, the edge's client.
                "swarm:stacks:PlatformRealm platform-realm",
                "pulumi-nodejs:dynamic/keycloak:Realm platform-realm-realm",
                ...["platform-admin", "data-engineer", "analyst", "viewer"].flatMap((r) => [`pulumi-nodejs:dynamic/keycloak:RealmRole platform-realm-role-${r}`, `pulumi-nodejs:dynamic/keycloak:Group platform-realm-group-${r}`]),
                "pulumi-nodejs:dynamic/keycloak:Client platform-realm-client-edge",
                // The edge: nginx and oauth2-proxy, their network, the TLS identity, the OIDC client's and the cookie's secrets, nginx's config.
                "swarm:stacks:Edge edge",
                "pulumi-nodejs:dynamic/swarm:Network edge-net",
                ...["tls", "client-secret", "cookie-secret"].map((s) => `pulumi-nodejs:dynamic/swarm:Secret edge-${s}`),
                "pulumi-nodejs:dynamic/swarm:Config edge-nginx",
                "pulumi-nodejs:dynamic/swarm:Service edge",
                "pulumi-nodejs:dynamic/swarm:Service edge-auth",
                // Logs: the collector on every node (its state volume on each), VictoriaLogs (the lab's store) on mgr1 with its volume.
                "swarm:stacks:Logs logs",
                "pulumi-nodejs:dynamic/swarm:Network logs-net",
                "pulumi-nodejs:dynamic/swarm:Config logs-collector",
                "pulumi-nodejs:dynamic/swarm:ImageCheck logs-images",
                ...["collector", "store"].map((s) => `pulumi-nodejs:dynamic/swarm:Service logs-${s}`),
                "pulumi-nodejs:dynamic/swarm:Volume logs-store-data",
                ...hosts.map((h) => `pulumi-nodejs:dynamic/swarm:Volume logs-collector-state-${h}`),
                // Traces: Jaeger beside the log store.
                "swarm:stacks:Traces traces",
                "pulumi-nodejs:dynamic/swarm:Config traces-jaeger",
                "pulumi-nodejs:dynamic/swarm:ImageCheck traces-image",
                "pulumi-nodejs:dynamic/swarm:Service traces-jaeger",
                "pulumi-nodejs:dynamic/swarm:Volume traces-data",
                // Metrics and alerts: Prometheus and Alertmanager on the control manager (mgr1), the exporters, cAdvisor, the edge's certificate probe.
                "swarm:stacks:Observability observability",
                "pulumi-nodejs:dynamic/swarm:Network observability-net",
                "pulumi-nodejs:dynamic/swarm:ImageCheck observability-images",
                ...["alertmanager", "blackbox", "prometheus", "rules", "thresholds"].map((c) => `pulumi-nodejs:dynamic/swarm:Config observability-${c}`),
                ...["alertmanager", "blackbox", "cadvisor", "node-exporter", "prometheus", "socket-proxy", "swarm-exporter"].map((s) => `pulumi-nodejs:dynamic/swarm:Service observability-${s}`),
                ...["alertmanager-data", "docker-ro", "prometheus-data"].map((v) => `pulumi-nodejs:dynamic/swarm:Volume observability-${v}`),
            ].sort(),
        );
    });

    test("the data tier: members pinned to their labelled node with its volume, secrets generated, no password in any input", () => {
        const member = registered.find((r) => r.name === "pg-wkr1")!.inputs;
        expect(member).toMatchObject({
            name: "pg-wkr1",
            image: "198.18.20.2:5000/swarm-etl/postgres@sha256:" + "a".repeat(64),
            endpointMode: "dnsrr",
            env: { PATRONI_NAME: "pg-wkr1", PATRONI_RESTAPI_CONNECT_ADDRESS: "pg-wkr1:8008", PATRONI_POSTGRESQL_CONNECT_ADDRESS: "pg-wkr1:5432" },
            mounts: [{ type: "volume", source: "pg-wkr1-data", target: "/var/lib/postgresql/data" }],
        });
        expect(member.constraints).toContain("node.labels.swarm-etl.postgres==true");
        expect(member.resources).toEqual({ limits: { cpus: 1, memory: "1G" } });
        expect((registered.find((r) => r.name === "pg-wkr1-data")!.inputs.connection as { name: string }).name).toBe("wkr1");
        for (const s of registered.filter((r) => r.type.endsWith(":Secret") && r.name.startsWith("pg-"))) {
            // Passwords, and the backup repository's TLS identity (for every host that speaks to it).
            expect(s.inputs.generate).toEqual(s.name === "pg-backup-tls" ? { tls: { commonName: "pgbackrest", dnsNames: ["pg-backup", "pg-wkr1", "pg-wkr2"] } } : { bytes: 32 });
            expect(s.inputs.data).toBeUndefined();
        }
        const patroni = registered.find((r) => r.name === "pg-patroni")!.inputs.data as string;
        expect(patroni).toContain("password_file: /run/secrets/pg-superuser");
        expect(patroni).not.toMatch(/\bpassword: /);
        expect(patroni).toContain("synchronous_mode: true");
    });

    test("backups: the repository on mgr1 with its volume, the members archive to it over TLS, the templates on the scheduler's labels", () => {
        const repo = registered.find((r) => r.name === "pg-backup" && r.type.endsWith(":Service"))!.inputs;
        expect(repo).toMatchObject({ command: ["pgbackrest", "server"], mounts: [{ type: "volume", source: "pg-backup-data", target: "/var/lib/pgbackrest" }] });
        expect((registered.find((r) => r.name === "pg-backup-data")!.inputs.connection as { name: string }).name).toBe("mgr1");
        // Its exporter beside it: the repository read only, no TLS identity (it serves no host).
        const exporter = registered.find((r) => r.name === "pg-backup-exporter")!.inputs;
        expect(exporter).toMatchObject({ command: ["swarm-etl-pgbackrest-exporter"], mounts: [{ type: "volume", source: "pg-backup-data", target: "/var/lib/pgbackrest", readOnly: true }], secrets: [] });
        expect(exporter.constraints).toEqual(repo.constraints);
        const member = registered.find((r) => r.name === "pg-wkr1")!.inputs;
        expect((member.secrets as { target: string }[]).map((x) => x.target)).toContain("pg-backup-tls");
        expect((member.configs as { target: string }[]).map((x) => x.target)).toEqual(["/etc/patroni/patroni.yml", "/etc/pgbackrest/pgbackrest.conf"]);
        expect(registered.find((r) => r.name === "pg-patroni")!.inputs.data as string).toContain("archive_command: pgbackrest --stanza=pg archive-push %p");
        const full = registered.find((r) => r.name === "pg-backup-full")!.inputs;
        expect(full).toMatchObject({ replicas: 0, command: ["swarm-etl-pg-backup", "full"], env: { PGBACKREST_STANZA: "pg" }, labels: { "swarm-etl.schedule": "0 1 * * 0", "swarm-etl.schedule.keep": "3" } });
        expect(registered.find((r) => r.name === "pg-backup-diff")!.inputs.labels).toMatchObject({ "swarm-etl.schedule": "0 1 * * 1-6" });
        expect(registered.find((r) => r.name === "pg-backup-init")!.inputs).toMatchObject({ mode: "replicated-job", command: ["swarm-etl-pg-backup", "init"] });
        const sched = registered.find((r) => r.name === "swarm-etl-scheduler" && r.type.endsWith(":Service"))!.inputs;
        expect(sched).toMatchObject({ image: LAB_IMAGES.scheduler, constraints: ["node.role==manager"], mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] });
        expect(sched.networks).toBeUndefined();
        expect(sched.ports).toBeUndefined();
    });

    test("Keycloak: on its own network and the data tier's, as the keycloak role of the keycloak database through the router, one replica in the lab", async () => {
        const svc = registered.find((r) => r.name === "keycloak" && r.type.endsWith(":Service"))!.inputs;
        expect(svc).toMatchObject({
            image: LAB_IMAGES["identity-keycloak"],
            replicas: 1,
            endpointMode: "dnsrr",
            networks: ["net-keycloak-net", "net-pg-net", "net-logs-net"],
            env: { KC_DB_URL: "jdbc:postgresql://pg-router:5432/keycloak?socketTimeout=30&connectTimeout=5&tcpKeepAlive=true", KC_DB_USERNAME: "keycloak", KC_DB_PASSWORD_FILE: "/run/secrets/keycloak-db", KC_HOSTNAME: "https://id.lab.swarm-etl.test:8443", KC_HOSTNAME_BACKCHANNEL_DYNAMIC: "true", KC_CACHE: "local" },
            resources: { limits: { cpus: 1, memory: "1536M" } },
        });
        expect(svc.constraints).toBeUndefined();
        expect((svc.secrets as { target: string }[]).map((x) => x.target)).toEqual(["keycloak-db", "keycloak-admin"]);
        expect(registered.find((r) => r.name === "keycloak-net")!.inputs).toMatchObject({ attachable: true, encrypted: false });
        // The admin client secret reaches Docker as a secret's data, and the stack's outputs only as a secret.
        expect(registered.find((r) => r.name === "keycloak-admin")!.inputs.generate).toBeUndefined();
        expect([program.keycloakService, program.keycloakUrl, program.keycloakAdminClientId]).toEqual(["keycloak", "http://keycloak:8080", "swarm-etl-admin"]);
        expect(await pulumi.isSecret(program.keycloakAdminClientSecret as pulumi.Output<string>)).toBe(true);
    });

    test("the router: NET_ADMIN and forwarding for its own namespace, nothing more; its spec names both members", () => {
        const router = registered.find((r) => r.name === "pg-router" && r.type.endsWith(":Service"))!.inputs;
        expect(router).toMatchObject({ capAdd: ["NET_ADMIN"], sysctls: { "net.ipv4.ip_forward": "1", "net.ipv4.conf.all.send_redirects": "0" }, maxReplicasPerNode: 1 });
        expect(router.mounts).toBeUndefined();
        expect(router.ports).toBeUndefined();
        expect(JSON.parse(registered.find((r) => r.name === "pg-router" && r.type.endsWith(":Config"))!.inputs.data as string).members).toEqual(["pg-wkr1", "pg-wkr2"]);
    });

    test("every node checks the images it may run before any data-tier service is declared to change", () => {
        const check = (h: string) => registered.find((r) => r.name === `pg-${h}-images`)!.inputs;
        expect(check("mgr1").images).toEqual([LAB_IMAGES.postgres, LAB_IMAGES["postgres-router"], LAB_IMAGES["postgres-etcd"]]);
        expect(check("wkr1").images).toEqual([LAB_IMAGES.postgres, LAB_IMAGES["postgres-router"]]);
        expect((check("wkr1").connection as { name: string }).name).toBe("wkr1");
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
