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
