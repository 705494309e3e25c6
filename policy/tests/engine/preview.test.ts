// Through the real engine: `pulumi preview --policy-pack policy --policy-pack-config …` of the
// program with the lab's stack config (Pulumi.lab.yaml, written by `lab/lab.sh up`), in a
// throwaway project directory and file backend of its own, so the `lab` stack and its state are
// never touched. A preview of creates connects to no host: it proves what the policy gate does
// before anything reaches a cluster.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";

const POLICY_DIR = path.resolve(__dirname, "../..");
const REPO = path.resolve(POLICY_DIR, "..");
const LAB_CONFIG = path.join(REPO, "Pulumi.lab.yaml");
const STACK = "policy-gate";
const OUT_DIR = process.env.POLICY_RESULTS_DIR;

let work: string;
let env: NodeJS.ProcessEnv;

function pulumi(args: string[], timeoutMs = 240_000) {
    const r = spawnSync("pulumi", args, { cwd: work, env, encoding: "utf8", timeout: timeoutMs });
    return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}` };
}

/** Runs one of the CI scripts the workflows call, in the project directory, as a workflow step would. */
function ciScript(script: string, args: string[], extraEnv: Record<string, string> = {}) {
    const r = spawnSync("bash", [path.join(REPO, ".github/scripts", script), ...args], { cwd: work, env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 240_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** True when `v` holds a value encrypted for another stack (`{ secure: … }`). */
const holdsSecret = (v: unknown): boolean => typeof v === "object" && v !== null && ("secure" in v || Object.values(v).some(holdsSecret));

/** Previews the stack with the lab's config changed by `edit`, under the policy config of `policyStack`. */
function preview(name: string, policyStack: "lab" | "dev" | "prod", edit: (config: Record<string, unknown>) => void = () => {}) {
    const file = path.join(work, `Pulumi.${STACK}.yaml`);
    const stackFile = fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) : {};
    // Keys encrypted with the lab stack's own salt (`npm run demo` adds its person under
    // identity.users) cannot be read here: the previews go without them.
    const lab = (YAML.parse(fs.readFileSync(LAB_CONFIG, "utf8")) as { config: Record<string, unknown> }).config;
    const config = Object.fromEntries(Object.entries(lab).filter(([, v]) => !holdsSecret(v)));
    edit(config);
    fs.writeFileSync(file, YAML.stringify({ ...stackFile, config }));
    const r = pulumi(["preview", "--stack", STACK, "--non-interactive", "--color", "never", "--policy-pack", POLICY_DIR, "--policy-pack-config", path.join(POLICY_DIR, "config", `${policyStack}.json`)]);
    if (OUT_DIR) fs.writeFileSync(path.join(OUT_DIR, `policy-preview-${name}.txt`), `exit ${r.code}\n${r.out}`);
    return r;
}

beforeAll(() => {
    if (!fs.existsSync(LAB_CONFIG)) throw new Error(`${LAB_CONFIG} is missing: the lab is not up; run \`bash lab/lab.sh up\` (policy/test.sh does)`);
    const version = spawnSync("pulumi", ["version"], { encoding: "utf8" });
    if (version.status !== 0) throw new Error("the Pulumi CLI is not on PATH: run `bash scripts/setup.sh` and `. scripts/lab-env.sh` (policy/test.sh does)");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-etl-policy-"));
    fs.mkdirSync(path.join(work, "state"));
    // The project is the repo's program (main), its stacks live here.
    fs.writeFileSync(path.join(work, "Pulumi.yaml"), YAML.stringify({ name: "swarm-etl", runtime: { name: "nodejs", options: { typescript: true } }, main: REPO }));
    env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`, PULUMI_CONFIG_PASSPHRASE: "policy-gate-test" };
    delete env.PULUMI_CONFIG;
    const init = pulumi(["stack", "init", STACK, "--non-interactive"]);
    if (init.code !== 0) throw new Error(`pulumi stack init failed: ${init.out}`);
});

afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("pulumi preview --policy-pack policy (the real engine, the lab's stack config)", () => {
    test("advisory violations (config/lab.json) are reported and the preview still succeeds", () => {
        const { code, out } = preview("lab-advisory", "lab");
        expect(out).toContain("swarm-etl@v0.1.0");
        expect(out).toMatch(/\[advisory\][^\n]*\sservice-healthcheck\s+\(pulumi-nodejs:dynamic\/swarm:Service: demo-web\)/);
        expect(out).toContain('service "demo-web" declares no healthcheck: Swarm then counts a task as running');
        expect(out).not.toContain("[mandatory]");
        expect(out).not.toContain("can't run policy"); // no rule tripped over a value unknown during preview
        expect(out).not.toContain("encrypted-data-overlays"); // the lab is exempt
        expect(code).toBe(0);
    });

    test("a mandatory violation (an image on latest) stops the preview with its message", () => {
        const { code, out } = preview("image-latest", "lab", (config) => {
            const demo = config["swarm-etl:demo"] as { image: string };
            demo.image = demo.image.replace(/:[^:/]+$/, ":latest");
        });
        expect(out).toMatch(/\[mandatory\][^\n]*\simage-pinned\s+\(pulumi-nodejs:dynamic\/swarm:Service: demo-web\)/);
        expect(out).toMatch(/service "demo-web" runs "[^"]+\/lab\/busybox:latest", which uses the tag latest: .* Fix: use a version tag/);
        expect(out).toMatch(/error: preview failed/);
        expect(code).not.toBe(0);
    });

    test("profile prod from the stack config: a manager left active is caught on its NodeSpec, the drained ones and autolock pass", () => {
        const { code, out } = preview("prod-profile", "prod", (config) => {
            config["swarm-etl:profile"] = "prod";
            const managers = config["swarm-etl:managers"] as { name: string; availability?: string }[];
            managers[1].availability = "active";
            // Without a control manager, prod has no manager for Prometheus (the next test has one).
            config["swarm-etl:observability"] = { enabled: false };
        });
        const drained = out.match(/\[mandatory\][^\n]*prod-managers-drained[^\n]*\n[^\n]*\n[^\n]*/g) ?? [];
        expect(drained).toHaveLength(1);
        expect(drained[0]).toMatch(/\(pulumi-nodejs:dynamic\/swarm:NodeSpec: swarm-mgr2-spec\)/);
        expect(drained[0]).toContain("manager mgr2 has availability active, not drain");
        expect(drained[0]).toContain("[profile prod, from stack config swarm-etl:profile]");
        expect(out).toMatch(/\[mandatory\][^\n]*encrypted-data-overlays/); // the lab config keeps encryptOverlays false
        for (const passes of ["prod-autolock", "prod-three-managers", "swarm-managers-odd", "ssh-host-key-pinned", "can't run policy"]) {
            expect([passes, out.includes(passes)]).toEqual([passes, false]);
        }
        expect(code).not.toBe(0);
    });

    test("profile prod with a control manager: it stays active for Prometheus and the node agents, every other service keeps off it", () => {
        const { code, out } = preview("prod-control", "prod", (config) => {
            config["swarm-etl:profile"] = "prod";
            const managers = config["swarm-etl:managers"] as { name: string; labels?: Record<string, string> }[];
            managers[0].labels = { ...managers[0].labels, "swarm-etl.control": "true" };
            // The lab builds VictoriaLogs, not Loki (AGPL); alerts go to a webhook.
            config["swarm-etl:observability"] = { logs: { store: "victorialogs" }, alerting: { receivers: [{ name: "ops", webhook: { url: "https://hooks.example.com/am" } }] } };
        });
        for (const s of ["observability-prometheus", "observability-node-exporter", "logs-collector", "swarm-etl-scheduler"]) expect(out).toContain(s);
        expect(out).not.toContain("prod-managers-drained");
        expect(out).not.toContain("can't run policy");
        expect(out).toMatch(/\[mandatory\][^\n]*encrypted-data-overlays/); // the lab config keeps encryptOverlays false
        expect(code).not.toBe(0);
    });

    test("the same stack under config/prod.json: the operability rules become mandatory and stop it", () => {
        const { code, out } = preview("prod-levels", "prod");
        expect(out).toMatch(/\[mandatory\][^\n]*\sservice-healthcheck\s/);
        expect(out).toMatch(/\[mandatory\][^\n]*\sservice-resource-limits\s/);
        expect(code).not.toBe(0);
    });
});

describe("the CI scripts against the real CLI", () => {
    test("drift-check.sh: resources the cluster does not have (this stack was never deployed) are drift: exit 1, listed in the job summary", () => {
        const summary = path.join(work, "summary.md");
        const r = ciScript("drift-check.sh", [STACK], { GITHUB_STEP_SUMMARY: summary });
        if (OUT_DIR) fs.writeFileSync(path.join(OUT_DIR, "policy-drift-check.txt"), `exit ${r.code}\n${r.stdout}${r.stderr}`);
        const text = fs.readFileSync(summary, "utf8");
        expect(text).toMatch(/^### policy-gate: drift — the cluster no longer matches the code \(\d+ to create\)/);
        expect(text).toContain("| create | demo-web | `pulumi-nodejs:dynamic/swarm:Service` | — |");
        expect(r.stdout).toContain("::error title=Drift on policy-gate::");
        expect(r.code).toBe(1);
    });

    test("stack-secrets.sh: the key from the environment becomes the stack's encrypted sshPrivateKey", () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nc3dhcm0tZXRsIHBvbGljeSB0ZXN0\n-----END OPENSSH PRIVATE KEY-----";
        const r = ciScript("stack-secrets.sh", ["policy-secrets"], { SWARM_ETL_SSH_PRIVATE_KEY: key });
        expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 }); // stderr shows only on failure
        const file = fs.readFileSync(path.join(work, "Pulumi.policy-secrets.yaml"), "utf8");
        expect(file).toMatch(/swarm-etl:sshPrivateKey:\s+secure: /);
        expect(file).not.toContain("PRIVATE KEY");
        const got = pulumi(["config", "get", "sshPrivateKey", "--stack", "policy-secrets"]);
        expect(got.out.trimEnd()).toBe(key);
    });
});

// Last: these previews leave the stack file with the demo off (the drift check above needs it on).
describe("the platform under the policy pack (the real engine)", () => {
    // The platform stacks pass every rule at the lab's and at prod's levels: the data tier, Spark
    // and the ETL job with its schedule (demo off), with encrypted overlays as a real cluster has them.
    const dataTierOnly = (config: Record<string, unknown>) => {
        if (!config["swarm-etl:images"]) throw new Error("Pulumi.lab.yaml has no swarm-etl:images: run `bash images/build.sh --lab` (npm test does)");
        config["swarm-etl:demo"] = { enabled: false };
        config["swarm-etl:postgres"] = { enabled: true };
        config["swarm-etl:spark"] = { enabled: true };
        config["swarm-etl:etl"] = { enabled: true, schedule: { cron: "0 3 * * *", timeZone: "Europe/Berlin" } };
        config["swarm-etl:encryptOverlays"] = true;
    };
    for (const level of ["lab", "prod"] as const) {
        test(`passes every rule at the ${level} levels (config/${level}.json): no violation, mandatory or advisory`, () => {
            const { code, out } = preview(`data-tier-${level}`, level, dataTierOnly);
            expect(out).toContain("pg-wkr1");
            expect(out).toContain("pg-router");
            for (const s of ["spark-master", "spark-worker", "spark-history", "etl-flights", "etl-flights-scheduled"]) expect(out).toContain(s);
            expect(out).not.toContain("[mandatory]");
            expect(out).not.toContain("[advisory]");
            expect(out).not.toContain("can't run policy");
            expect(code).toBe(0);
        });
    }
});
