// A backup repository in S3-compatible storage, against the lab, through the real engine: the lab's
// S3 server (moto's, over HTTPS with a certificate made here: images/s3-lab) on mgr2, the repository
// host on mgr1 with the bucket as its storage, a one-member cluster (pgs3, wkr1) that archives its
// WAL and takes its first full backup there, and a cluster restored from that bucket (pgs3r, wkr2).
// Every Swarm object here is named pgs3*.
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Stack } from "@pulumi/pulumi/automation";
import { generateTlsIdentity } from "../../providers/swarm/tlsIdentity";
import { Secret, Service } from "../../providers/swarm";
import { PostgresCluster } from "../../components/stacks/postgres/postgresCluster";
import { PgBackupRepository } from "../../components/stacks/postgres/backupRepository";
import { DEFAULT_DATABASES, DEFAULT_ROLES, POSTGRES_IMAGES } from "../../components/stacks/postgres/config";
import { ensureSwarm, inlineStack, log, managerConnection, nodeConnections, requiredEnv, secretKey } from "./harness";
import { labConfig } from "./labConfig";
import { b64, nodeShell, recordedImage, until } from "./nodeShell";

const cfg = labConfig();
const NAME = "pgs3";
const RESTORED = "pgs3r";
const REPO_NAME = `${NAME}-backup`;
const S3 = `${NAME}-s3`;
const BUCKET = "pg-backups";
const S3_IMAGE = "postgres-s3-lab";
const imageNamed = (name: string) => recordedImage(cfg, name);
const image = (k: keyof typeof POSTGRES_IMAGES) => imageNamed(POSTGRES_IMAGES[k]);
/** The S3 server's identity (made here; the repository trusts its certificate) and the storage's key. */
const identity = generateTlsIdentity({ commonName: S3, dnsNames: [S3] });
const certificate = identity.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)![0];
const ACCESS_KEY_ID = "pgs3lab";
const SECRET_ACCESS_KEY = crypto.randomBytes(24).toString("base64url");

let restoring = false;
let stack: Stack;

const sh = nodeShell(cfg);
const inContainer = (service: string) => `$(docker ps -q -f label=com.docker.swarm.service.name=${service} | head -n1)`;
/** SQL as postgres on a cluster's member (its local socket). */
const psql = (sql: string, cluster = NAME, node = "wkr1") =>
    sh(`echo ${b64(sql)} | base64 -d | docker exec -i ${inContainer(`${cluster}-${node}`)} psql -h /run/patroni -U postgres -d warehouse -v ON_ERROR_STOP=1 -Atq -f -`, node);
const repoExec = (command: string) => sh(`docker exec ${inContainer(REPO_NAME)} ${command}`);


async function program() {
    const conn = { connection: managerConnection(), privateKey: secretKey() };
    const nodes = nodeConnections();
    const repository = new PgBackupRepository(REPO_NAME, {
        ...conn,
        nodeConnection: nodes.mgr1,
        node: "mgr1",
        image: image("postgres"),
        stanzas: { [NAME]: [`${NAME}-wkr1`], [RESTORED]: [`${RESTORED}-wkr2`] },
        endpointMode: "dnsrr",
        encrypted: false,
        s3: { endpoint: `${S3}:9000`, bucket: BUCKET, uriStyle: "path", ca: certificate, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    const tls = new Secret(`${S3}-tls`, { ...conn, name: `${S3}-tls`, data: pulumi.secret(identity), labels: { "swarm-etl.stack": S3 } });
    const s3 = new Service(
        S3,
        {
            ...conn,
            name: S3,
            image: imageNamed(S3_IMAGE),
            args: [`/run/secrets/${S3}-tls`, BUCKET],
            networks: [repository.network.networkId],
            endpointMode: "dnsrr",
            constraints: ["node.hostname==mgr2"],
            secrets: [{ secretId: tls.secretId, secretName: tls.secretName, target: `${S3}-tls`, uid: "999", gid: "999", mode: 0o400 }],
            healthcheck: { test: "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 9000), 1)'", interval: "2s", timeout: "2s", retries: 3, startPeriod: "30s" },
            stopGracePeriod: "2s",
            labels: { "swarm-etl.stack": S3 },
        },
        { dependsOn: [repository] },
    );
    const cluster = (name: string, node: string, dcs: string, restore?: { stanza: string }) =>
        new PostgresCluster(
            name,
            {
                ...conn,
                nodeConnections: nodes,
                images: { postgres: image("postgres"), etcd: image("etcd"), router: image("router") },
                members: [node],
                dcs: [dcs],
                synchronous: false,
                databases: DEFAULT_DATABASES,
                roles: DEFAULT_ROLES,
                routerReplicas: 1,
                endpointMode: "dnsrr",
                encrypted: false,
                backup: { repository, schedules: { full: "0 0 1 1 *", diff: "0 0 2 1 *" } },
                restore,
            },
            { dependsOn: [s3] },
        );
    cluster(NAME, "wkr1", "mgr3");
    if (restoring) cluster(RESTORED, "wkr2", "mgr2", { stanza: NAME });
}

beforeAll(async () => {
    await ensureSwarm();
    stack = await inlineStack(NAME, program);
    await stack.destroy({ onOutput: log("pgs3-destroy-before") });
});

afterAll(async () => {
    await stack?.destroy({ onOutput: log("pgs3-destroy") });
});

describe("a backup repository in S3-compatible storage (the lab's S3 server)", () => {
    test("the cluster archives its WAL and takes its first full backup into the bucket (check and verify pass); nothing of it is on the repository's node", async () => {
        const up = await stack.up({ onOutput: log("pgs3-up") });
        expect(up.summary.result).toBe("succeeded");
        expect(await sh(`docker service logs --raw ${NAME}-backup-init 2>&1`)).toMatch(/check \(WAL archiving end to end\)[\s\S]*done/);
        const info = JSON.parse(await repoExec(`pgbackrest --stanza=${NAME} info --output=json`)) as { backup: { type: string }[]; status: { code: number }; repo: { cipher: string }[] }[];
        expect(info[0].status.code).toBe(0);
        expect(info[0].backup.filter((b) => b.type === "full").length).toBe(1);
        // The objects are in the bucket (listed through the S3 API), not on the node's volume.
        const keys = await sh(
            `docker exec ${inContainer(S3)} /opt/s3-lab/venv/bin/python3 -c "import boto3, urllib3; urllib3.disable_warnings(); s3 = boto3.client('s3', endpoint_url='https://127.0.0.1:9000', verify=False, region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x'); print('\\n'.join(o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='${BUCKET}') for o in p.get('Contents', [])))"`,
            "mgr2",
        );
        expect(keys).toMatch(new RegExp(`^pgbackrest/backup/${NAME}/\\d{8}-\\d{6}F/backup\\.manifest$`, "m"));
        expect(keys).toMatch(new RegExp(`^pgbackrest/archive/${NAME}/15-1/0000000100000000/0000000100000000000000\\w\\w-[0-9a-f]{40}\\.zst$`, "m"));
        expect(await repoExec(`sh -c 'ls -A /var/lib/pgbackrest | grep -v "^lock$" || true'`)).toBe("");
    });

    test("a new cluster restored from the bucket has the rows written after the backup (WAL from the bucket)", async () => {
        await psql("CREATE TABLE s3rows AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 5000) g");
        const source = await psql("SELECT count(*) || ':' || md5(string_agg(payload, ',' ORDER BY id)) FROM s3rows");
        const segment = await psql("SELECT pg_walfile_name(pg_switch_wal())");
        await until(async () => (await psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) >= segment, 120_000, `WAL ${segment} archived`);
        restoring = true;
        try {
            const up = await stack.up({ onOutput: log("pgs3-restore") });
            expect(up.summary.result).toBe("succeeded");
        } finally {
            restoring = false;
        }
        expect(await psql("SELECT count(*) || ':' || md5(string_agg(payload, ',' ORDER BY id)) FROM s3rows", RESTORED, "wkr2")).toBe(source);
    });

    test("the storage's secret key is in no service spec or log, and in the state only encrypted; the members do not mount it", async () => {
        const backend = requiredEnv("PULUMI_BACKEND_URL").replace(/^file:\/\//, "");
        const state = fs.readFileSync(path.join(backend, ".pulumi/stacks/swarm-etl-tests", `${NAME}.json`), "utf8");
        expect(state).toContain(`${REPO_NAME}-s3`);
        const services = (await sh("docker service ls --format '{{.Name}}'")).split("\n").filter((s) => s.startsWith(NAME));
        const specs = await sh(`docker service inspect ${services.join(" ")}`);
        const logs = await sh(`for s in ${services.join(" ")}; do docker service logs --raw $s 2>&1; done`);
        expect(logs.length).toBeGreaterThan(0);
        for (const text of [state, specs, logs]) expect(text.includes(SECRET_ACCESS_KEY)).toBe(false);
        const mounted = (s: string) => sh(`docker service inspect ${s} --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}'`);
        expect(await mounted(REPO_NAME)).toContain(`${REPO_NAME}-s3-`);
        expect(await mounted(`${NAME}-backup-init`)).toContain(`${REPO_NAME}-s3-`);
        expect(await mounted(`${NAME}-wkr1`)).not.toContain(`${REPO_NAME}-s3-`);
    });
});
