// Prints one closing line for every test run of `npm test`: "tests: N passed, N failed" (CI reads
// it). Reads jest's --json result files and the "N passed, N failed" line of the lab's own checks.
// A run that is missing, or ran no test, is a failure. The failed tests are listed by name with the
// first lines of their messages, last, so that the tail of a long CI log says what failed.
const fs = require("fs");
const path = require("path");
const dir = process.argv[2];
const expected = ["unit.json", "keycloak.json", "lab-e2e.txt", "lab.json", "policy.txt", "etl.txt"];
let passed = 0, failed = 0;
const failures = [];
const firstLines = (text, n = 4) => text.replace(/\u001b\[[0-9;]*m/g, "").split("\n").map((l) => l.trimEnd()).filter(Boolean).slice(0, n).join("\n      ");
for (const name of expected) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
        console.log(`${name}: did not run`);
        failed++;
        continue;
    }
    if (name.endsWith(".json")) {
        const r = JSON.parse(fs.readFileSync(file, "utf8"));
        passed += r.numPassedTests;
        failed += r.numFailedTests + r.numPendingTests + r.numTodoTests + r.numFailedTestSuites + r.numRuntimeErrorTestSuites;
        if (r.numTotalTests === 0) failed++;
        for (const suite of r.testResults ?? []) {
            const file = path.relative(process.cwd(), suite.name);
            const broken = (suite.assertionResults ?? []).filter((a) => a.status === "failed");
            for (const a of broken) failures.push(`${name}: ${file}: ${a.fullName}\n      ${firstLines((a.failureMessages ?? []).join("\n"))}`);
            if (suite.status === "failed" && broken.length === 0) failures.push(`${name}: ${file}: the suite failed\n      ${firstLines(suite.message ?? "")}`);
        }
    } else {
        const m = /(\d+) passed, (\d+) failed\s*$/.exec(fs.readFileSync(file, "utf8").trim());
        if (!m) { console.log(`${name}: no result line`); failed++; continue; }
        passed += Number(m[1]);
        failed += Number(m[2]);
    }
}
if (failures.length) console.log(`failed:\n  ${failures.join("\n  ")}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
