#!/usr/bin/env bash
# Records one delivery step of a stack (a preview, an up, a drift check) as metrics on the stack's
# first manager, in node-exporter's textfile directory (/var/lib/swarm-etl/metrics), which the
# observability stack scrapes: the dashboard "swarm-etl / Delivery pipeline". Through the bastion
# with the stack's own access: its sshConfig and knownHosts outputs and the key in
# SWARM_ETL_SSH_PRIVATE_KEY. Monitoring never fails a delivery: a problem is a warning, exit 0.
#   bash .github/scripts/delivery-metrics.sh STACK KIND RESULT [PULUMI_JSON]
#   KIND: preview | up | drift   RESULT: success | failure | drift (GitHub's cancelled counts as failure)
#   PULUMI_JSON: the step's --json output (its change summary), when it has one
# SWARM_ETL_SSH_CONFIG and SWARM_ETL_SSH_HOST use that ssh config and host instead (the lab).
set -uo pipefail
stack=${1:?usage: delivery-metrics.sh STACK KIND RESULT [PULUMI_JSON]}
kind=${2:?usage: delivery-metrics.sh STACK KIND RESULT [PULUMI_JSON]}
result=${3:?usage: delivery-metrics.sh STACK KIND RESULT [PULUMI_JSON]}
json=${4:-}
# A cancelled job (GitHub's job.status) did not deliver.
[[ $result == cancelled ]] && result=failure
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
warn() { echo "::warning title=Delivery metrics of ${stack}::$*"; exit 0; }
dir=/var/lib/swarm-etl/metrics
file="$dir/delivery_${stack}.prom"

config=${SWARM_ETL_SSH_CONFIG:-}
host=${SWARM_ETL_SSH_HOST:-}
identity=()
if [[ -z $config ]]; then
  [[ -n ${SWARM_ETL_SSH_PRIVATE_KEY:-} ]] || warn "SWARM_ETL_SSH_PRIVATE_KEY is not set; fix: pass the stack's SSH key secret to this step"
  pulumi stack output --stack "$stack" sshConfig >"$work/ssh_config" 2>"$work/err" || warn "no sshConfig output on ${stack} ($(tail -n1 "$work/err"))"
  known=$(awk '/UserKnownHostsFile/ { print $2; exit }' "$work/ssh_config")
  [[ -n $known ]] || warn "the sshConfig output of ${stack} names no UserKnownHostsFile"
  known=${known/#\~/$HOME}
  mkdir -p "$(dirname "$known")"
  pulumi stack output --stack "$stack" knownHosts >"$known" 2>"$work/err" || warn "no knownHosts output on ${stack}"
  (umask 077 && printf '%s\n' "$SWARM_ETL_SSH_PRIVATE_KEY" >"$work/key")
  identity=(-i "$work/key")
  config="$work/ssh_config"
  # The first manager of the stack's nodes output.
  host=$(pulumi stack output --stack "$stack" --json nodes 2>/dev/null | node -e 'const n = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(String((n.find((x) => x.role === "manager") ?? {}).name ?? ""))')
fi
[[ -n $host ]] || warn "no manager to write to; fix: set SWARM_ETL_SSH_HOST, or check the stack's managers output"
ssh=(ssh -F "$config" "${identity[@]}" -o BatchMode=yes -o ConnectTimeout=15 "$host")

"${ssh[@]}" "cat $file 2>/dev/null || true" >"$work/previous" 2>"$work/err" || warn "cannot reach ${host} ($(tail -n1 "$work/err"))"
node "$here/delivery-metrics.js" "$stack" "$kind" "$result" ${json:+"$json"} <"$work/previous" >"$work/new" || warn "the metrics could not be rendered"
# Written beside and renamed: node-exporter never reads half a file.
"${ssh[@]}" "mkdir -p $dir && cat > $file.tmp && mv $file.tmp $file" <"$work/new" 2>"$work/err" || warn "cannot write ${file} on ${host} ($(tail -n1 "$work/err"))"
echo "delivery metrics of ${stack}: ${kind} ${result}, written to ${host}:${file}"
