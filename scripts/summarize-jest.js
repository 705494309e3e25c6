// Prints one closing line for all jest runs: "tests: N passed, N failed" (CI reads it).
// A run that wrote no result file, or ran no test, counts as a failure.
const fs = require("fs");
let passed = 0, failed = 0, suitesFailed = 0, runs = 0;
for (const file of process.argv.slice(2)) {
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    runs++;
    passed += r.numPassedTests;
    failed += r.numFailedTests + r.numPendingTests + r.numTodoTests;
    suitesFailed += r.numFailedTestSuites + r.numRuntimeErrorTestSuites;
}
if (suitesFailed > 0) failed += suitesFailed;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 || runs < 2 ? 1 : 0);
