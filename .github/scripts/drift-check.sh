#!/usr/bin/env bash
# Drift check of one stack: a refreshed preview that expects no changes. Exits 0 when the cluster
# matches the code; on drift it prints (and writes to the GitHub job summary) which resources
# differ and in which properties, and exits 1; when the check itself cannot run (a host down, a
# wrong passphrase) it says so and exits 2. Needs the Pulumi CLI, node and the stack's
# credentials (see docs/ci.md).
#   bash .github/scripts/drift-check.sh STACK
set -uo pipefail
stack=${1:?usage: drift-check.sh STACK}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary_file=${GITHUB_STEP_SUMMARY:-/dev/null}
# With SWARM_ETL_RECORD_DELIVERY=1 (the drift workflow), the outcome is also recorded as the stack's
# delivery metrics (delivery-metrics.sh: drift, success, or failure when the check could not run).
record() { [[ ${SWARM_ETL_RECORD_DELIVERY:-} == 1 ]] && bash "$here/delivery-metrics.sh" "$stack" drift "$1" "$work/preview.json"; return 0; }

pulumi preview --stack "$stack" --refresh --expect-no-changes --json --non-interactive >"$work/preview.json" 2>"$work/stderr"
rc=$?

if [[ $rc -eq 0 ]]; then
  node "$here/drift-summary.js" "$work/preview.json" "$stack" | tee -a "$summary_file"
  record success
  exit 0
fi
if grep -q "no changes were expected" "$work/stderr" && node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$work/preview.json" 2>/dev/null; then
  node "$here/drift-summary.js" "$work/preview.json" "$stack" | tee -a "$summary_file"
  echo "::error title=Drift on ${stack}::the ${stack} cluster no longer matches the code on main (the job summary lists what differs); fix: put the change into the code through a pull request, or run the deploy workflow (pulumi up --refresh) to revert it"
  record drift
  exit 1
fi
{
  echo "### ${stack}: the drift check could not run"
  echo
  echo '```'
  tail -n 40 "$work/stderr"
  echo '```'
} | tee -a "$summary_file"
echo "::error title=Drift check failed on ${stack}::pulumi preview --refresh exited ${rc} before it could compare (see the log above: a host unreachable through the bastion, a wrong passphrase or missing secrets in the environment)"
record failure
exit 2
