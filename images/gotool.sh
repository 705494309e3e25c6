#!/usr/bin/env bash
# Go programs a module's `tool` lines name, built here from the Go module proxy:
#
#   images/gotool.sh DIR          # prints the directory the programs are in (bin/<last path element>)
#
# When DIR holds .go files of its own (a main package: our program around a library), that program
# is built too, as bin/<the module path's last element>.
#
# DIR holds a go.mod with `tool` lines and its go.sum (committed: every dependency pinned by its
# checksum), made with `go get -tool MODULE/PATH@VERSION`. This is the way for a program whose own
# module has `replace` lines, which `go install MODULE@VERSION` refuses (Jaeger). Each tool is built
# with this machine's Go (static: CGO off, -trimpath, -s -w) and kept in $SWARM_ETL_CACHE/images/go
# by the hash of go.mod, go.sum and the Go release, so a second run prints the path at once. Used
# by images/build.sh (an image definition's go.mod) and by the unit tests (`jaeger validate`).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../engine/versions.sh
. "$REPO/engine/versions.sh"
say() { printf '\033[1m[gotool]\033[0m %s\n' "$*" >&2; }
die() { printf '[gotool] ERROR: %s\n' "$*" >&2; exit 1; }

dir="${1:?usage: images/gotool.sh DIR}"
[ -f "$dir/go.mod" ] || die "$dir has no go.mod"
[ -f "$dir/go.sum" ] || die "$dir/go.mod has no go.sum beside it; fix: run \`go mod tidy\` in $dir and commit go.sum"
command -v go >/dev/null 2>&1 || die "$dir/go.mod needs Go; fix: install Go 1.26 (README: this machine)"
mapfile -t tools < <(awk '$1 == "tool" && $2 != "(" { print $2 } /^tool \($/ { t=1; next } t && /^\)/ { t=0 } t && NF { print $1 }' "$dir/go.mod")
mapfile -t sources < <(cd "$dir" && ls -1 -- *.go 2>/dev/null | grep -v '_test\.go$' | LC_ALL=C sort)
module="$(awk '$1 == "module" { print $2; exit }' "$dir/go.mod")"
[ "${#sources[@]}" -eq 0 ] || tools+=(".")
[ "${#tools[@]}" -gt 0 ] || die "$dir/go.mod names no tool and $dir has no main package; fix: \`go get -tool MODULE/PATH@VERSION\` in $dir"

gover="$(go env GOVERSION)"
out="$SWARM_ETL_CACHE/images/go/tool-$(cat "$dir/go.mod" "$dir/go.sum" "${sources[@]/#/$dir/}" <(echo "$gover") | sha256sum | cut -c1-16)"
mkdir -p "$SWARM_ETL_CACHE/images/go"
# One build at a time per module (the image build and the unit tests may ask at once).
exec 9>"$out.lock"
flock 9
if [ ! -f "$out/.done" ]; then
    rm -rf "$out"; mkdir -p "$out/src" "$out/bin"
    cp "$dir/go.mod" "$dir/go.sum" "${sources[@]/#/$dir/}" "$out/src/"
    for tool in "${tools[@]}"; do
        bin="${tool##*/}"; [ "$tool" != . ] || bin="${module##*/}"
        say "go build ${tool/#./$module} ($gover; a few minutes, once)"
        (cd "$out/src" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="-s -w" -o "$out/bin/$bin" "$tool") >>"$out/build.log" 2>&1 \
            || { tail -n 20 "$out/build.log" >&2; die "go build $tool failed; the whole log is $out/build.log"; }
    done
    touch "$out/.done"
fi
echo "$out/bin"
