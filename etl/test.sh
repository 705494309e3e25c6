#!/usr/bin/env bash
# The ETL tests for the project's test command: etl/test.sh RESULTS_DIR
# Runs etl/setup.sh, then every pytest test (transform unit tests on local Spark, the binary COPY
# encoder, config and observability, the whole job against a PostgreSQL 15 server the tests start
# themselves). Writes RESULTS_DIR/etl.txt: pytest's output, then a last line `N passed, M failed`
# (skipped tests count as failed: nothing here may skip). Exits non-zero on any failure.
set -uo pipefail
ETL="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RESULTS="${1:?usage: etl/test.sh RESULTS_DIR}"
mkdir -p "$RESULTS"
RESULTS="$(cd "$RESULTS" && pwd)"
out="$RESULTS/etl.txt"
: > "$out"

if ! bash "$ETL/setup.sh" 2>&1 | tee -a "$out"; then
    echo "etl: setup failed (see above)" | tee -a "$out"
    echo "0 passed, 1 failed" | tee -a "$out"
    exit 1
fi
# shellcheck source=env.sh
. "$ETL/env.sh"

junit="$RESULTS/etl-junit.xml"
rm -f "$junit"
cd "$ETL"
"$ETL_PY" -m pytest -p no:cacheprovider -q -rfEs --durations=5 --junitxml="$junit" tests 2>&1 | tee -a "$out"
rc=${PIPESTATUS[0]}

summary="$("$ETL_PY" - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 1"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
failed = n["failures"] + n["errors"] + n["skipped"]
print(n["tests"] - failed, failed)
PY
)"
read -r passed failed <<< "$summary"
echo "$passed passed, $failed failed" | tee -a "$out"
if [ "$rc" != 0 ] || [ "$failed" != 0 ] || [ "$passed" = 0 ]; then exit 1; fi
