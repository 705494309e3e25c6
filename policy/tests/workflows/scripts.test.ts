// The scripts the workflows run, against a stand-in `pulumi` on PATH that records how it was
// called and answers like the real CLI (the engine tests run them against the real one).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "./workflows";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const drift = require(path.join(REPO, ".github/scripts/drift-summary.js")) as {
    summarize(preview: unknown, stack: string): string;
    splitUrn(urn: string): { type: string; name: string };
};

const urn = (type: string, name: string) => `urn:pulumi:prod::swarm-etl::swarm:stacks:Demo$${type}::${name}`;
/** The shape `pulumi preview --json` prints (trimmed): one service scaled by hand, one network gone. */
const DRIFTED = {
    config: { "swarm-etl:sshPrivateKey": "[secret]" },
    steps: [
        { op: "same", urn: urn("pulumi-nodejs:dynamic/swarm:SwarmInit", "swarm") },
        { op: "update", urn: urn("pulumi-nodejs:dynamic/swarm:Service", "demo-web"), diffReasons: ["replicas"], detailedDiff: { replicas: { kind: "update" } }, newState: { inputs: { privateKey: "never printed" } } },
        { op: "create", urn: urn("pulumi-nodejs:dynamic/swarm:Network", "demo-net") },
        { op: "refresh", urn: urn("pulumi-nodejs:dynamic/swarm:Network", "demo-net") },
    ],
    changeSummary: { same: 20, update: 1, create: 1 },
};
const CLEAN = { steps: [{ op: "same", urn: urn("pulumi-nodejs:dynamic/swarm:SwarmInit", "swarm") }], changeSummary: { same: 21 } };

let bin: string;
let work: string;

beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-etl-ci-scripts-"));
    bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    // Stand-in CLI: records argv and stdin to $STUB_LOG; `preview` prints $STUB_JSON, $STUB_STDERR and exits $STUB_RC.
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        [
            "#!/usr/bin/env bash",
            'printf "argv: %s\\n" "$*" >> "$STUB_LOG"',
            'if [[ $1 == config && $2 == set ]]; then printf "stdin: %s\\n" "$(cat)" >> "$STUB_LOG"; fi',
            'if [[ $1 == preview ]]; then cat "$STUB_JSON"; printf "%s" "${STUB_STDERR:-}" >&2; exit "${STUB_RC:-0}"; fi',
            "exit 0",
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string | undefined>, cwd = REPO) {
    const log = path.join(work, `log-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(log, "");
    const summary = path.join(work, `summary-${Math.random().toString(36).slice(2)}`);
    const base: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, STUB_LOG: log, GITHUB_STEP_SUMMARY: summary };
    const r = spawnSync("bash", [path.join(REPO, ".github/scripts", script), ...args], { cwd, encoding: "utf8", env: { ...base, ...env } as NodeJS.ProcessEnv });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls: fs.readFileSync(log, "utf8"), summary: fs.existsSync(summary) ? fs.readFileSync(summary, "utf8") : "" };
}

function previewJson(doc: unknown) {
    const file = path.join(work, `preview-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(doc));
    return file;
}

describe("drift-summary.js", () => {
    test("lists each resource that would change with the properties that differ, never their values", () => {
        expect(drift.summarize(DRIFTED, "prod")).toBe(
            [
                "### prod: drift — the cluster no longer matches the code (1 to update, 1 to create)",
                "",
                "| change | resource | type | properties that differ |",
                "| --- | --- | --- | --- |",
                "| update | demo-web | `pulumi-nodejs:dynamic/swarm:Service` | `replicas` |",
                "| create | demo-net | `pulumi-nodejs:dynamic/swarm:Network` | — |",
                "",
                "A refreshed preview proposes these changes to bring the cluster back to the code. Either put the manual change into",
                "the code (and its config) through a pull request, or revert it with the deploy workflow (`pulumi up --refresh`).",
                "",
            ].join("\n"),
        );
        expect(drift.summarize(DRIFTED, "prod")).not.toContain("never printed");
    });

    test("says so when nothing drifted", () => {
        expect(drift.summarize(CLEAN, "dev")).toBe("### dev: no drift\n\nThe cluster matches the code on main.\n");
    });
});

describe("drift-check.sh", () => {
    test("runs a refreshed preview that expects no changes; exit 0 and 'no drift' when clean", () => {
        const r = run("drift-check.sh", ["dev"], { STUB_JSON: previewJson(CLEAN) });
        expect(r.calls.trim()).toBe("argv: preview --stack dev --refresh --expect-no-changes --json --non-interactive");
        expect(r.code).toBe(0);
        expect(r.summary).toContain("### dev: no drift");
    });

    test("drift: exit 1, an ::error annotation, and the table in the job summary", () => {
        const r = run("drift-check.sh", ["prod"], { STUB_JSON: previewJson(DRIFTED), STUB_RC: "255", STUB_STDERR: "error: no changes were expected for preview but changes were proposed\n" });
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("::error title=Drift on prod::the prod cluster no longer matches the code on main");
        expect(r.summary).toContain("| update | demo-web | `pulumi-nodejs:dynamic/swarm:Service` | `replicas` |");
    });

    test("a check that cannot run (a host unreachable) is exit 2 with the CLI's error, not drift", () => {
        const r = run("drift-check.sh", ["prod"], { STUB_JSON: previewJson({}), STUB_RC: "255", STUB_STDERR: "error: connecting to prod-mgr1 through bastion-prod: timed out\n" });
        expect(r.code).toBe(2);
        expect(r.summary).toContain("### prod: the drift check could not run");
        expect(r.summary).toContain("timed out");
        expect(r.stdout).toContain("::error title=Drift check failed on prod::");
    });
});

describe("stack-secrets.sh", () => {
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";

    test("names every missing secret and where to set it, before any pulumi command", () => {
        const r = run("stack-secrets.sh", ["prod"], {}, os.tmpdir());
        expect(r.code).toBe(1);
        expect(r.calls).toBe("");
        expect(r.stderr).toContain("::error title=Missing CI secret::SWARM_ETL_SSH_PRIVATE_KEY (the SSH private key for the bastion and the nodes) is not set; add it to the GitHub environment of the prod stack");
        expect(r.stderr).toContain("PULUMI_BACKEND_URL (self-managed state: s3://…, azblob://…, gs://…) or PULUMI_ACCESS_TOKEN (Pulumi Cloud) is not set");
        expect(r.stderr).toContain("PULUMI_CONFIG_PASSPHRASE (the stack's passphrase; or set a KMS secretsprovider in Pulumi.prod.yaml) is not set");
    });

    test("selects the stack and pipes the key to `pulumi config set --secret` (never on a command line)", () => {
        const r = run("stack-secrets.sh", ["dev"], { SWARM_ETL_SSH_PRIVATE_KEY: KEY, PULUMI_BACKEND_URL: "s3://state", PULUMI_CONFIG_PASSPHRASE: "p" });
        expect(r.code).toBe(0);
        const argv = r.calls.split("\n").filter((l) => l.startsWith("argv: "));
        expect(argv).toEqual(["argv: stack select --create --non-interactive dev", "argv: config rm --stack dev sshPrivateKeyPath", "argv: config set --secret --stack dev sshPrivateKey"]);
        expect(r.calls).toContain(`stdin: ${KEY}`);
    });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const delivery = require(path.join(REPO, ".github/scripts/delivery-metrics.js")) as {
    render(o: { stack: string; kind: string; result: string; now: number; changeSummary?: Record<string, number>; previous: string }): string;
};

describe("delivery-metrics.js", () => {
    test("a step's time, result and run count, and the changes of its --json output; what earlier steps recorded is kept", () => {
        const lines = (text: string) => text.split("\n");
        const sample = (name: string, labels: string, value: number) => `swarm_etl_delivery_${name}{${labels},stack="dev"} ${value}`;
        const first = delivery.render({ stack: "dev", kind: "up", result: "success", now: 1000, changeSummary: { create: 2, update: 1, same: 30 }, previous: "" });
        expect(lines(first)).toEqual(
            expect.arrayContaining([
                sample("last_success_timestamp_seconds", 'kind="up"', 1000),
                sample("last_ok", 'kind="up"', 1),
                sample("runs_total", 'kind="up",result="success"', 1),
                sample("runs_total", 'kind="up",result="failure"', 0),
                sample("changes", 'kind="up",op="create"', 2),
                sample("changes", 'kind="up",op="delete"', 0),
                "# TYPE swarm_etl_delivery_runs_total counter",
            ]),
        );
        // A failure: the last success stays, the failure is counted, the changes of the last run that had them stay.
        const second = delivery.render({ stack: "dev", kind: "up", result: "failure", now: 2000, previous: first });
        expect(lines(second)).toEqual(
            expect.arrayContaining([
                sample("last_success_timestamp_seconds", 'kind="up"', 1000),
                sample("last_run_timestamp_seconds", 'kind="up"', 2000),
                sample("last_ok", 'kind="up"', 0),
                sample("runs_total", 'kind="up",result="success"', 1),
                sample("runs_total", 'kind="up",result="failure"', 1),
                sample("changes", 'kind="up",op="create"', 2),
            ]),
        );
        const third = delivery.render({ stack: "dev", kind: "drift", result: "drift", now: 3000, previous: second });
        expect(lines(third)).toEqual(expect.arrayContaining([sample("last_ok", 'kind="drift"', 0), sample("last_ok", 'kind="up"', 0)]));
        expect(third).not.toContain('swarm_etl_delivery_last_success_timestamp_seconds{kind="drift"');
    });

    test("a kind, a result or a stack it does not know is refused", () => {
        expect(() => delivery.render({ stack: "dev", kind: "deploy", result: "success", now: 1, previous: "" })).toThrow(/kind "deploy" is not one of preview, up, drift/);
        expect(() => delivery.render({ stack: "dev", kind: "up", result: "ok", now: 1, previous: "" })).toThrow(/result "ok"/);
        expect(() => delivery.render({ stack: 'dev"} 1\nx{', kind: "up", result: "success", now: 1, previous: "" })).toThrow(/is not a stack name/);
    });
});

describe("delivery-metrics.sh", () => {
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZGVsaXZlcnk=\n-----END OPENSSH PRIVATE KEY-----";
    let dbin: string;
    let remote: string;
    beforeAll(() => {
        dbin = path.join(work, "delivery-bin");
        remote = path.join(work, "remote");
        fs.mkdirSync(dbin);
        fs.mkdirSync(remote);
        // Stand-in pulumi: the stack's outputs. Stand-in ssh: records argv; runs the remote command with / as $STUB_REMOTE.
        fs.writeFileSync(
            path.join(dbin, "pulumi"),
            [
                "#!/usr/bin/env bash",
                'printf "argv: %s\\n" "$*" >> "$STUB_LOG"',
                'case "$*" in',
                '  *"output --stack dev sshConfig") printf "Host bastion\\n    UserKnownHostsFile %s/known_hosts\\nHost mgr1\\n    ProxyJump bastion\\n" "$STUB_HOME";;',
                '  *"output --stack dev knownHosts") echo "mgr1 ssh-ed25519 AAAA";;',
                '  *"output --stack dev --json nodes") echo \'[{"name":"wkr1","role":"worker"},{"name":"mgr1","role":"manager"}]\';;',
                '  preview*) cat "$STUB_JSON"; printf "%s" "${STUB_STDERR:-}" >&2; exit "${STUB_RC:-0}";;',
                "  *) exit 1;;",
                "esac",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        fs.writeFileSync(
            path.join(dbin, "ssh"),
            ["#!/usr/bin/env bash", 'printf "ssh: %s\\n" "$*" >> "$STUB_LOG"', '[[ -n ${STUB_SSH_RC:-} ]] && { echo "ssh: connect to host mgr1: Connection timed out" >&2; exit "$STUB_SSH_RC"; }', 'cmd="${*: -1}"', 'bash -c "${cmd//\\/var\\/lib/$STUB_REMOTE/var/lib}"', ""].join("\n"),
            { mode: 0o755 },
        );
    });
    const runD = (args: string[], env: Record<string, string>) =>
        run("delivery-metrics.sh", args, { PATH: `${dbin}:${process.env.PATH}`, STUB_REMOTE: remote, STUB_HOME: work, ...env });

    test("through the stack's outputs and its key (a file, never an argument), to the first manager's textfile directory; a second step keeps the first's", () => {
        const a = runD(["dev", "preview", "success", previewJson({ changeSummary: { update: 3, same: 9 } })], { SWARM_ETL_SSH_PRIVATE_KEY: KEY });
        expect(a.code).toBe(0);
        expect(a.stdout).toContain("delivery metrics of dev: preview success, written to mgr1:/var/lib/swarm-etl/metrics/delivery_dev.prom");
        const b = runD(["dev", "drift", "drift"], { SWARM_ETL_SSH_PRIVATE_KEY: KEY });
        expect(b.code).toBe(0);
        const file = fs.readFileSync(path.join(remote, "var/lib/swarm-etl/metrics/delivery_dev.prom"), "utf8");
        expect(file).toContain('swarm_etl_delivery_changes{kind="preview",op="update",stack="dev"} 3');
        expect(file).toContain('swarm_etl_delivery_last_ok{kind="drift",stack="dev"} 0');
        expect(file).toContain('swarm_etl_delivery_last_ok{kind="preview",stack="dev"} 1');
        const ssh = b.calls.split("\n").filter((l) => l.startsWith("ssh: "));
        expect(ssh).toHaveLength(2);
        for (const l of ssh) expect(l).toMatch(/^ssh: -F \S+ -i \S+ -o BatchMode=yes -o ConnectTimeout=15 mgr1 /);
        expect(a.calls + b.calls).not.toContain("ZGVsaXZlcnk=");
        expect(fs.readFileSync(path.join(work, "known_hosts"), "utf8")).toBe("mgr1 ssh-ed25519 AAAA\n");
    });

    test("the drift workflow's check records its outcome (SWARM_ETL_RECORD_DELIVERY=1): drift, with the changes the refreshed preview proposes", () => {
        fs.rmSync(path.join(remote, "var"), { recursive: true, force: true });
        const r = run("drift-check.sh", ["dev"], { PATH: `${dbin}:${process.env.PATH}`, STUB_REMOTE: remote, STUB_HOME: work, SWARM_ETL_SSH_PRIVATE_KEY: KEY, SWARM_ETL_RECORD_DELIVERY: "1", STUB_JSON: previewJson(DRIFTED), STUB_RC: "255", STUB_STDERR: "error: no changes were expected for preview but changes were proposed\n" });
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("delivery metrics of dev: drift drift, written to mgr1");
        const file = fs.readFileSync(path.join(remote, "var/lib/swarm-etl/metrics/delivery_dev.prom"), "utf8");
        expect(file).toContain('swarm_etl_delivery_last_ok{kind="drift",stack="dev"} 0');
        expect(file).toContain('swarm_etl_delivery_runs_total{kind="drift",result="drift",stack="dev"} 1');
        expect(file).toContain('swarm_etl_delivery_changes{kind="drift",op="update",stack="dev"} 1');
        expect(file).toContain('swarm_etl_delivery_changes{kind="drift",op="create",stack="dev"} 1');
    });

    test("monitoring never fails a delivery: no key, or a manager out of reach, is a warning and exit 0", () => {
        const noKey = runD(["dev", "up", "success"], {});
        expect(noKey.code).toBe(0);
        expect(noKey.stdout).toContain("::warning title=Delivery metrics of dev::SWARM_ETL_SSH_PRIVATE_KEY is not set");
        expect(noKey.calls).not.toContain("ssh: ");
        const down = runD(["dev", "up", "success"], { SWARM_ETL_SSH_PRIVATE_KEY: KEY, STUB_SSH_RC: "255" });
        expect(down.code).toBe(0);
        expect(down.stdout).toContain("::warning title=Delivery metrics of dev::cannot reach mgr1 (ssh: connect to host mgr1: Connection timed out)");
    });
});
