#!/usr/bin/env bash
# An OpenTelemetry Collector from its builder manifest, built here from the Go module proxy:
#
#   images/ocb.sh MANIFEST        # prints the collector's path
#
# The manifest (an OpenTelemetry Collector Builder config without `dist.output_path`) names the
# builder's version on a line `# builder: vX.Y.Z`. The builder (go.opentelemetry.io/collector/cmd/
# builder) is installed at that version, then it writes and compiles the collector the manifest
# lists (static: CGO off, -trimpath, -s -w). Both are kept in $SWARM_ETL_CACHE/images/go by the
# hash of the manifest and the Go release, so a second run prints the path at once. Used by
# images/build.sh (an image definition's ocb.yaml) and by the unit tests (`otelcol validate`).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../engine/versions.sh
. "$REPO/engine/versions.sh"
say() { printf '\033[1m[ocb]\033[0m %s\n' "$*" >&2; }
die() { printf '[ocb] ERROR: %s\n' "$*" >&2; exit 1; }

manifest="${1:?usage: images/ocb.sh MANIFEST}"
[ -f "$manifest" ] || die "$manifest: no such file"
command -v go >/dev/null 2>&1 || die "the collector needs Go; fix: install Go 1.26 (README: this machine)"
builder="$(sed -n 's/^# builder: *\(v[0-9][0-9.]*\) *$/\1/p' "$manifest" | head -n1)"
[ -n "$builder" ] || die "$manifest names no builder version; fix: add a line \`# builder: v0.148.0\` (the release of its core modules)"
name="$(awk '/^dist:/{d=1; next} d && /^[^ #]/{d=0} d && /^ +name:/{print $2; exit}' "$manifest")"
[ -n "$name" ] || die "$manifest has no dist.name; fix: name the collector's binary under dist:"
grep -q '^ *output_path:' "$manifest" && die "$manifest sets dist.output_path; fix: remove it (this script chooses where the collector is built)"

gover="$(go env GOVERSION)"
out="$SWARM_ETL_CACHE/images/go/ocb-$( { cat "$manifest"; echo "$gover"; } | sha256sum | cut -c1-16)"
if [ ! -f "$out/.done" ]; then
    tools="$SWARM_ETL_CACHE/images/go/ocb-builder-$builder-$gover"
    if [ ! -x "$tools/builder" ]; then
        say "go install go.opentelemetry.io/collector/cmd/builder@$builder"
        mkdir -p "$tools"
        CGO_ENABLED=0 GOBIN="$tools" go install "go.opentelemetry.io/collector/cmd/builder@$builder" >&2 \
            || die "the builder $builder did not install from the Go module proxy"
    fi
    say "building $name from $manifest (a few minutes, once)"
    rm -rf "$out"; mkdir -p "$out/src"
    sed "s|^dist:\$|dist:\n  output_path: $out/src|" "$manifest" >"$out/manifest.yaml"
    (cd "$out" && CGO_ENABLED=0 "$tools/builder" --config="$out/manifest.yaml") >"$out/build.log" 2>&1 \
        || { tail -n 20 "$out/build.log" >&2; die "the builder failed; the whole log is $out/build.log"; }
    [ -x "$out/src/$name" ] || die "the builder made no $out/src/$name (see $out/build.log)"
    touch "$out/.done"
fi
echo "$out/src/$name"
