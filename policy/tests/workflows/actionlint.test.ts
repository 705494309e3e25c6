// actionlint on every workflow (it also reads the local actions they use, and runs shellcheck on
// every `run:` script). The binary is built by .github/scripts/actionlint.sh (policy/test.sh and
// the checks workflow run it first and pass its path as ACTIONLINT).
import { spawnSync } from "child_process";
import * as path from "path";
import { REPO, workflowFiles } from "./workflows";

function actionlintPath(): string {
    if (process.env.ACTIONLINT) return process.env.ACTIONLINT;
    const r = spawnSync("bash", [path.join(REPO, ".github/scripts/actionlint.sh")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`actionlint could not be built: ${r.stderr}; run \`bash .github/scripts/actionlint.sh\``);
    return r.stdout.trim();
}

describe("actionlint", () => {
    const bin = actionlintPath();

    test("is the pinned version, and shellcheck is installed so run: scripts are checked too", () => {
        expect(spawnSync(bin, ["-version"], { encoding: "utf8" }).stdout.split("\n")[0]).toBe("v1.7.12");
        const sc = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
        if (sc.status !== 0) throw new Error("shellcheck is not installed: actionlint would skip the run: scripts; apt-get install shellcheck (policy/test.sh does)");
    });

    test.each(workflowFiles().map((f) => path.relative(REPO, f)))("%s has no findings", (file) => {
        const r = spawnSync(bin, ["-no-color", "-oneline", file], { cwd: REPO, encoding: "utf8" });
        expect(`${r.stdout}${r.stderr}`).toBe("");
        expect(r.status).toBe(0);
    });
});
