// Debian's promtool (scripts/setup.sh installs the prometheus package, which ships it), for the
// tests of the alerting rules and of the dashboards' queries.
import { spawnSync } from "child_process";

/** Runs promtool with `args` in `cwd`: its exit status and everything it printed. */
export function promtool(args: string[], cwd?: string): { status: number | null; out: string } {
    const r = spawnSync("promtool", args, { encoding: "utf8", cwd });
    if (r.error) throw new Error(`promtool did not run (${r.error.message}); fix: run \`bash scripts/setup.sh\` (it installs Debian's prometheus, which ships promtool)`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
