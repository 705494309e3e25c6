// The committed environments through the real engine: `pulumi preview` of dev and prod with their
// committed config (the secure SSH key decrypts with the example passphrase), and a broken config
// refused with every problem before any resource is declared. Previews of new stacks contact no
// host, so this runs in a throwaway file backend of its own.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import ssh2 = require("ssh2");
import { REPO } from "./labConfig";
import { log } from "./harness";

const backend = fs.mkdtempSync(path.join(os.tmpdir(), "swetl-envs-"));
const envVars = { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "swarm-etl-example" };

afterAll(() => fs.rmSync(backend, { recursive: true, force: true }));

const dataTier = (n: { hosts: number; dcs: number; members: number }) => 1 + 1 + 8 + 3 + 2 * n.dcs + 2 * n.members + 2 + n.hosts;
/**
 * Backups: the scheduler (component, service), the repository (component, network, TLS secret,
 * config, service, and a volume unless it is a host path), the members' pgbackrest.conf, the first
 * backup's job, the two scheduled templates, and the repository's metrics exporter.
 */
const backups = (o: { volume: boolean }) => 2 + 5 + (o.volume ? 1 : 0) + 1 + 3 + 1;
/** Spark: its component, network, the recovery and event-log volumes, master + workers + history, an image check per Spark node. */
const spark = (n: { nodes: number }) => 1 + 1 + 2 + 3 + n.nodes;
/** The ETL: its component, the Pushgateway's volume, image check and service, the run job and the scheduled template. */
const etl = 1 + 3 + 2;
/** Keycloak: its component, the admin client secret (GeneratedPassword) and its Swarm secret, its network and service. */
const identity = 1 + 1 + 1 + 1 + 1;
// The realm as code (its component, the realm, 4 roles, a group per role, the edge's client) and the
// edge (its component, network, 3 secrets, nginx's config, nginx and oauth2-proxy).
const realm = 1 + 1 + 4 + 4 + 1;
const edge = 1 + 1 + 3 + 1 + 2;
/**
 * Metrics and alerts: the component, its network, image check, 3 volumes (Prometheus, Alertmanager,
 * the Docker API's socket), 5 configs (Prometheus, its rules and thresholds, Alertmanager, the
 * blackbox exporter) and 7 services (the socket proxy, cAdvisor, node exporter, swarm exporter,
 * Alertmanager, Prometheus, the blackbox exporter watching the edge's certificate).
 */
const metrics = 1 + 1 + 1 + 3 + 5 + 7;
/** Logs (Loki): the component, network, image check, the store's volume, the collector's and Loki's configs, 2 services, a collector state volume per host. */
const logs = (n: { hosts: number }) => 1 + 1 + 1 + 1 + 2 + 2 + n.hosts;
/** Traces: the component, Jaeger's config, image check, service and volume. */
const traces = 5;
/** Grafana: the component, image check, volume, admin password (generated, then a secret), the OIDC client's secret, datasources, dashboard provider, 6 dashboards, the service; its client in the realm. */
const grafana = 1 + 1 + 1 + 2 + 1 + 2 + 6 + 1 + 1;
const observability = (n: { hosts: number }) => metrics + logs(n) + traces + grafana;

describe("the committed stacks dev and prod, previewed by the real engine", () => {
    test.each([
        // stack, resources to create: the stack, components, a check + membership + node spec per host, the init, the demo's network and service,
        // and the data tier: its component, network, 8 secrets, 3 configs, a service + volume per etcd member and per PostgreSQL member,
        // the router, the reconcile job and an image check per node; then the backups, Spark, the ETL, Keycloak, the realm, the edge, and metrics, logs, traces and Grafana
        ["dev", 1 + 2 + 3 * 3 + 1 + 2 + dataTier({ hosts: 3, dcs: 3, members: 2 }) + backups({ volume: true }) + spark({ nodes: 3 }) + etl + identity + realm + edge + observability({ hosts: 3 })],
        ["prod", 1 + 1 + 7 * 3 + 1 + dataTier({ hosts: 7, dcs: 3, members: 3 }) + backups({ volume: false }) + spark({ nodes: 2 }) + etl + identity + realm + edge + observability({ hosts: 7 })],
    ])("pulumi preview --stack %s plans %d resources, its secure SSH key decrypts to a private key", async (name, creates) => {
        const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: REPO }, { envVars });
        const key = await stack.getConfig("swarm-etl:sshPrivateKey");
        expect(key.secret).toBe(true);
        expect(ssh2.utils.parseKey(key.value)).not.toBeInstanceOf(Error);
        const res = await stack.preview({ onOutput: log(`preview-${name}`) });
        expect(res.changeSummary).toEqual({ create: creates });
    });

    test("a broken config stops the preview with every problem, before any resource", async () => {
        const name = "broken";
        const file = path.join(REPO, `Pulumi.${name}.yaml`);
        fs.copyFileSync(path.join(REPO, "Pulumi.dev.yaml"), file);
        try {
            const stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: REPO }, { envVars });
            await stack.setConfig("swarm-etl:profile", { value: "prod" });
            await stack.setConfig("swarm-etl:joinTokenRotation", { value: "-1" });
            let out = "";
            const err = await stack.preview({ onOutput: (o) => (out += o) }).then(
                () => undefined,
                (e: Error) => e.message,
            );
            expect(err).toBeDefined();
            expect(out).toContain("invalid stack configuration (2 problems):");
            expect(out).toContain("swarm-etl:managers: prod needs 3 or 5 managers to survive the loss of one, not 1; fix: list 3 or 5 managers (or use the dev profile)");
            expect(out).toContain("swarm-etl:joinTokenRotation: -1 must be a whole number, 0 or more; fix: increase the current value by one to rotate the join tokens");
            expect(out).not.toContain("swarm:"); // no resource of ours was declared: only the stack itself
            expect(out).toMatch(/\+ 1 to create/);
            await stack.workspace.removeStack(name);
        } finally {
            fs.rmSync(file, { force: true });
        }
    });
});
