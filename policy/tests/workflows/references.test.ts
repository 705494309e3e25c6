// What the workflows call must exist: npm scripts in the package they run in, the scripts and
// local actions they name, the policy pack and its per-stack config, the stacks' config files;
// the Pulumi CLI they install is the SDK's version; every secret and environment they use is
// documented in docs/ci.md. actionlint checks the syntax; this checks the repository behind it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { allFiles, expand, matrixOf, REPO, Step } from "./workflows";

const files = allFiles();
const readJson = (p: string) => JSON.parse(fs.readFileSync(path.join(REPO, p), "utf8"));
const CI_DOC = fs.readFileSync(path.join(REPO, "docs/ci.md"), "utf8");

/** Every step of every job, once per matrix entry, with `${{ matrix.* }}` filled in. */
const steps: { where: string; step: Step }[] = files.flatMap((f) =>
    Object.entries(f.jobs).flatMap(([jobName, job]) =>
        matrixOf(job).flatMap((entry) =>
            (job.steps ?? []).map((step, i) => ({
                where: `${f.file} ${jobName}${Object.keys(entry).length ? ` (${Object.values(entry).join(", ")})` : ""} step ${i + 1}`,
                step: JSON.parse(expand(JSON.stringify(step), entry)) as Step,
            })),
        ),
    ),
);

interface Command {
    where: string;
    kind: "npm-script" | "npm-ci" | "file";
    dir: string;
    name: string;
}

/** The commands of a `run:` script that name something in the repository. */
function commandsOf(where: string, run: string): Command[] {
    const out: Command[] = [];
    for (const line of run.split("\n")) {
        for (const part of line.split(/&&|\|\||;|\|/)) {
            const prefix = part.match(/--prefix[= ]+(\S+)/)?.[1] ?? ".";
            const script = part.match(/\bnpm\s+run\s+([\w:.-]+)/)?.[1] ?? (/\bnpm\s+test\b/.test(part) ? "test" : undefined);
            if (script) out.push({ where, kind: "npm-script", dir: prefix, name: script });
            if (/\bnpm\s+ci\b/.test(part)) out.push({ where, kind: "npm-ci", dir: prefix, name: "package-lock.json" });
            for (const m of part.matchAll(/\b(?:bash|node|sh)\s+["']?([\w./-]+\.(?:sh|js))/g)) out.push({ where, kind: "file", dir: ".", name: m[1] });
        }
    }
    return out;
}

const commands = steps.flatMap(({ where, step }) => (step.run ? commandsOf(where, step.run) : []));
const pulumiSteps = steps.filter(({ step }) => step.uses?.startsWith("pulumi/actions@"));

describe("the workflows call what exists", () => {
    test("they run npm scripts, npm ci and repository scripts (at least the checks)", () => {
        const names = commands.map((c) => `${c.dir}:${c.name}`);
        for (const expected of [".:build", ".:test:unit", "policy:build", "policy:test:unit", "policy:test:workflows", ".:.github/scripts/actionlint.sh", ".:.github/scripts/drift-check.sh", ".:.github/scripts/stack-secrets.sh"]) {
            expect(names).toContain(expected);
        }
    });

    test.each(commands.map((c) => [`${c.kind} ${c.dir === "." ? "" : `${c.dir}/`}${c.name}`, c] as const))("%s exists", (_label, c) => {
        const problem =
            c.kind === "npm-script"
                ? readJson(path.join(c.dir, "package.json")).scripts?.[c.name] === undefined && `${c.dir}/package.json has no script ${c.name}`
                : !fs.existsSync(path.join(REPO, c.dir, c.name)) && `${path.join(c.dir, c.name)} does not exist`;
        expect([c.where, problem || "ok"]).toEqual([c.where, "ok"]);
    });

    test("local actions and reusable workflows exist", () => {
        const local = files.flatMap((f) => [
            ...Object.values(f.jobs).flatMap((j) => (j.uses ? [j.uses] : [])),
            ...Object.values(f.jobs).flatMap((j) => (j.steps ?? []).map((s) => s.uses).filter((u): u is string => !!u)),
        ]).filter((u) => u.startsWith("./"));
        expect(local.length).toBeGreaterThan(0);
        for (const u of local) {
            const p = path.join(REPO, u);
            expect([u, fs.existsSync(p) && (fs.statSync(p).isFile() || fs.existsSync(path.join(p, "action.yml")))]).toEqual([u, true]);
        }
    });

    test("every pulumi/actions command runs on a stack that has a config file, with the policy pack and that stack's policy config", () => {
        const commandSteps = pulumiSteps.filter(({ step }) => step.with?.command);
        expect(commandSteps.map(({ step }) => step.with!.command).sort()).toEqual(["preview", "preview", "up", "up"]);
        for (const { where, step } of commandSteps) {
            const w = step.with as Record<string, string>;
            expect([where, fs.existsSync(path.join(REPO, `Pulumi.${w["stack-name"]}.yaml`))]).toEqual([where, true]);
            expect([where, w.policyPacks]).toEqual([where, "policy"]);
            expect([where, w.policyPackConfigs]).toEqual([where, `policy/config/${w["stack-name"]}.json`]);
            expect(fs.existsSync(path.join(REPO, w.policyPacks, "PulumiPolicy.yaml"))).toBe(true);
            expect(fs.existsSync(path.join(REPO, w.policyPackConfigs))).toBe(true);
        }
    });

    test("the Pulumi CLI the workflows install is the version of @pulumi/pulumi in package.json", () => {
        const sdk = readJson("package.json").dependencies["@pulumi/pulumi"];
        const versions = pulumiSteps.map(({ step }) => step.with?.["pulumi-version"]).filter((v) => v !== undefined);
        expect(versions.length).toBeGreaterThan(0);
        for (const v of versions) expect(String(v)).toBe(sdk);
    });

    test("every secret and environment the workflows use is documented in docs/ci.md", () => {
        const text = files.map((f) => f.text).join("\n");
        const secrets = [...new Set([...text.matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]))].filter((s) => s !== "GITHUB_TOKEN");
        expect(secrets).toEqual(expect.arrayContaining(["PULUMI_CONFIG_PASSPHRASE", "SWARM_ETL_SSH_PRIVATE_KEY"]));
        for (const s of secrets) expect([s, CI_DOC.includes(`\`${s}\``)]).toEqual([s, true]);
        const environments = new Set<string>();
        for (const f of files) {
            for (const job of Object.values(f.jobs)) {
                if (!job.environment) continue;
                const env = typeof job.environment === "string" ? job.environment : job.environment.name;
                for (const entry of matrixOf(job)) environments.add(expand(env, entry));
            }
        }
        expect([...environments].sort()).toEqual(["dev", "prod", "prod-preview"]);
        for (const e of environments) expect([e, CI_DOC.includes(`\`${e}\``)]).toEqual([e, true]);
    });

    test("no secret is written into a workflow file", () => {
        for (const f of files) {
            expect([f.file, /-----BEGIN [A-Z ]*PRIVATE KEY-----|PULUMI_CONFIG_PASSPHRASE:\s*["']?[^$\s"'{]/.test(f.text)]).toEqual([f.file, false]);
        }
    });

    test("the scripts the workflows call pass bash -n and shellcheck", () => {
        const scripts = [...new Set(commands.filter((c) => c.name.endsWith(".sh")).map((c) => c.name))];
        for (const s of scripts) {
            const syntax = spawnSync("bash", ["-n", path.join(REPO, s)], { encoding: "utf8" });
            expect([s, syntax.status, syntax.stderr]).toEqual([s, 0, ""]);
            const lint = spawnSync("shellcheck", ["-x", path.join(REPO, s)], { encoding: "utf8" });
            expect([s, lint.status, lint.stdout]).toEqual([s, 0, ""]);
        }
    });
});
