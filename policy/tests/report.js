// Writes policy/test.sh's report from jest's JSON: one line per test (failures with their
// message), then the closing line `N passed, M failed` (with the type check counted in).
//   node tests/report.js JEST_JSON TSC_PASSED TSC_FAILED; exits 1 when anything failed
"use strict";
const fs = require("fs");
const path = require("path");

const [file, tscPass = "0", tscFail = "0"] = process.argv.slice(2);
let passed = Number(tscPass);
let failed = Number(tscFail);
let jest;
try {
    jest = JSON.parse(fs.readFileSync(file, "utf8"));
} catch (err) {
    console.log(`FAIL jest: no results (${err.message}); see policy-jest.log`);
    jest = { testResults: [] };
    failed++;
}
const root = path.resolve(__dirname, "..");
for (const suite of jest.testResults ?? []) {
    const where = path.relative(root, suite.name);
    if ((suite.assertionResults ?? []).length === 0 && suite.status === "failed") {
        failed++;
        console.log(`FAIL ${where}: ${String(suite.message).split("\n").slice(0, 12).join("\n    ")}`);
    }
    for (const t of suite.assertionResults ?? []) {
        if (t.status === "passed") passed++;
        else if (t.status === "failed") failed++;
        else continue; // pending/skipped: none expected; not counted
        console.log(`${t.status === "passed" ? "PASS" : "FAIL"} ${where} › ${t.fullName}`);
        if (t.status === "failed") for (const m of t.failureMessages ?? []) console.log(`    ${m.split("\n").slice(0, 20).join("\n    ")}`);
    }
}
if (jest.success === false && failed === 0) {
    failed++;
    console.log("FAIL jest reported failure without a failed test (see policy-jest.log)");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
