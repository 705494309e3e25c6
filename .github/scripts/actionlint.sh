#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) from the Go module proxy into
# $SWARM_ETL_CACHE/bin, once per pinned version, and prints its path. A second run only checks
# the version (milliseconds).
#   bash .github/scripts/actionlint.sh            → /root/.cache/swarm-etl/bin/actionlint
#
# Go's checksum database (sum.golang.org) cannot be reached from this project's machines, so
# outside GitHub Actions the actionlint module itself is exempt from it (GONOSUMDB); its
# dependencies are still verified against actionlint's own go.sum. On GitHub's runners the
# checksum database is used as usual.
set -euo pipefail
ACTIONLINT_VERSION=1.7.12
cache=${SWARM_ETL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swarm-etl}
bin="$cache/bin/actionlint"

if [[ -x $bin ]] && [[ $("$bin" -version 2>/dev/null | head -n1) == "v$ACTIONLINT_VERSION" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "actionlint.sh: Go is needed to build actionlint (apt-get install golang, or actions/setup-go)" >&2; exit 1; }
mkdir -p "$cache/bin"
exec 9>"$cache/bin/.actionlint.lock"
flock 9
if [[ ${GITHUB_ACTIONS:-} != true ]]; then
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/rhysd/actionlint"
fi
echo "actionlint.sh: building actionlint v$ACTIONLINT_VERSION from the Go module proxy" >&2
GOFLAGS=-mod=mod GOBIN="$cache/bin.tmp.$$" go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" >&2
mv -f "$cache/bin.tmp.$$/actionlint" "$bin"
rmdir "$cache/bin.tmp.$$"
[[ $("$bin" -version | head -n1) == "v$ACTIONLINT_VERSION" ]] || { echo "actionlint.sh: built actionlint does not report v$ACTIONLINT_VERSION" >&2; exit 1; }
echo "$bin"
