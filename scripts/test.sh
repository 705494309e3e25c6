#!/usr/bin/env bash
# Runs every test: type check, unit tests (Pulumi mocks, pure functions), the realm as code
# against a local Keycloak (needs Java 17+), the lab tests (real sshd/dockerd in the lab, the real
# Pulumi engine), the policy pack's tests and the ETL job's tests (pytest, local Spark, a real
# PostgreSQL). Does its own setup, brings the lab up,
# and takes it down again at the end, also on failure (KEEP_LAB=1 keeps it).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh
. scripts/lab-env.sh

results="$(mktemp -d)"
finish() {
    rc=$?
    # a step that ended the run early leaves no job of its own behind
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
    if [ "${KEEP_LAB:-0}" != 1 ]; then bash lab/lab.sh down || rc=1; fi
    node scripts/summarize-tests.js "$results" || rc=1
    exit "$rc"
}
trap finish EXIT

# The ETL job's tests (their own PostgreSQL and a local Spark, no lab: some 6 minutes) run from the
# start, beside the type check, the unit tests (one jest worker on this machine's two cores), the
# realm-as-code tests and the lab's own checks, which leave a core mostly idle; their output is
# shown at the end.
echo "== ETL pipeline: the transform unit tests and the whole job against a real PostgreSQL, pytest (in the background; its output at the end)"
bash etl/test.sh "$results" >"$results/etl-run.txt" 2>&1 &
etl_pid=$!

echo "== type check"
npx tsc --noEmit -p tsconfig.json
echo "== unit tests"
npx jest --selectProjects unit --json --outputFile="$results/unit.json"
# The realm-as-code tests (a local Keycloak, no lab) run beside the lab's own checks: they share
# nothing, and each is mostly waiting. Their output is shown when both have ended.
echo "== keycloak: the realm as code against a local Keycloak (scripts/keycloak-local.sh), through the real engine (beside the lab checks)"
keycloak_pid=""
if ! command -v java >/dev/null 2>&1; then
    echo "keycloak tests: Java is not installed (Keycloak needs 17 or newer); fix: apt-get install -y openjdk-17-jre-headless, then run npm test again" >&2
    rc_keycloak=1
else
    npx jest --selectProjects keycloak --runInBand --json --outputFile="$results/keycloak.json" >"$results/keycloak.txt" 2>&1 &
    keycloak_pid=$!
fi
echo "== lab: up/down/repair/isolation checks (ends with a fresh lab)"
bash lab/test/e2e.sh | tee "$results/lab-e2e.txt"
if [ -n "$keycloak_pid" ]; then
    wait "$keycloak_pid" || rc_keycloak=$?
    echo "== keycloak (its output)"
    cat "$results/keycloak.txt"
fi
echo "== platform images: build (cached by content hash), push to the lab registry, record their digests"
bash images/build.sh --lab
echo "== lab tests"
# Ansible (from PyPI, pinned) for the access test: an ad-hoc ping over the stack's inventory.
ansible_venv="$(bash bench/cluster/setup.sh | tail -n1)"
export SWARM_ETL_ANSIBLE="$ansible_venv/bin/ansible"
npx jest --selectProjects lab --runInBand --json --outputFile="$results/lab.json" || rc_lab=$?
echo "== policy pack: rule tests, workflow lint (actionlint), the gate through the real engine"
bash policy/test.sh "$results" || rc_policy=$?
wait "$etl_pid" || rc_etl=$?
echo "== ETL pipeline (its output)"
cat "$results/etl-run.txt"
exit $(( ${rc_keycloak:-0} || ${rc_lab:-0} || ${rc_policy:-0} || ${rc_etl:-0} ))
