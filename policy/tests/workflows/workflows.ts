// Reading the repository's GitHub Actions files for the workflow tests: every workflow and local
// action, their steps, and the matrix each job expands to.
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

export const REPO = path.resolve(__dirname, "../../..");
export const GITHUB = path.join(REPO, ".github");

export interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, unknown>;
}

export interface Job {
    uses?: string;
    environment?: string | { name: string };
    strategy?: { matrix?: { include?: Record<string, unknown>[] } & Record<string, unknown> };
    steps?: Step[];
    env?: Record<string, unknown>;
}

export interface WorkflowFile {
    /** Path relative to the repository. */
    file: string;
    text: string;
    doc: Record<string, unknown>;
    /** Jobs (workflows) — a local action has one pseudo-job with its steps. */
    jobs: Record<string, Job>;
}

const rel = (p: string) => path.relative(REPO, p);

export function workflowFiles(): string[] {
    const dir = path.join(GITHUB, "workflows");
    return fs
        .readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => path.join(dir, f));
}

export function actionFiles(): string[] {
    const dir = path.join(GITHUB, "actions");
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .map((d) => path.join(dir, d, "action.yml"))
        .filter((f) => fs.existsSync(f));
}

export function load(file: string): WorkflowFile {
    const text = fs.readFileSync(file, "utf8");
    const doc = YAML.parse(text) as Record<string, unknown>;
    const jobs = file.endsWith("action.yml")
        ? { action: { steps: ((doc.runs as { steps?: Step[] })?.steps ?? []) as Step[] } }
        : ((doc.jobs ?? {}) as Record<string, Job>);
    return { file: rel(file), text, doc, jobs };
}

export const allFiles = () => [...workflowFiles(), ...actionFiles()].map(load);

/** The matrix entries of a job (one empty entry when it has no matrix). */
export function matrixOf(job: Job): Record<string, string>[] {
    const include = job.strategy?.matrix?.include;
    if (!include) return [{}];
    return include.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)])));
}

/** `${{ matrix.x }}` replaced by the entry's values; other expressions left as they are. */
export function expand(text: string, entry: Record<string, string>): string {
    return text.replace(/\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}/g, (m, k: string) => entry[k] ?? m);
}
