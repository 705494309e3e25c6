#!/usr/bin/env bash
# The platform's image pipeline: builds every image definition of the platform's stacks
# (components/stacks/<stack>/images/<image>/Dockerfile) from what this machine's registries serve,
# tags it by the hash of its definition and inputs, pushes it to the stack's registry and records
# each image by digest in the stack's config (`swarm-etl:images`), which the program deploys.
#
#   images/build.sh --lab                      # the lab: push through mgr1's daemon, Pulumi.lab.yaml
#   images/build.sh --registry R --via H --stack S [--no-config] [NAME...]
#
#   --registry R   the registry the nodes pull from (host[:port][/prefix])
#   --via H        DOCKER_HOST of a daemon that can reach R and pushes there (ssh://<manager>, unix://…);
#                  the images are loaded into it from the build daemon, then pushed
#   --stack S      write the digests into Pulumi.S.yaml (`swarm-etl:images`); --no-config only prints them
#   NAME...        build only these (postgres, postgres-etcd, postgres-router, …)
#
# 1. base: a Debian bookworm minbase rootfs from debootstrap, cached as a tarball in
#    $SWARM_ETL_CACHE/image/ and imported once as swarm-etl/debian:bookworm; a definition that
#    declares `ARG BASE_TRIXIE` gets swarm-etl/debian:trixie too (Debian 13: Java 21), made the
#    same way when a definition first needs it;
#    Artifacts a definition's fetch.txt pins (URL, sha256) are fetched here and staged in its context,
#    and the Go programs its go.txt names (MODULE@VERSION), or its go.mod's `tool` lines, are built
#    here from the Go module proxy,
#    as is the OpenTelemetry Collector its ocb.yaml lists (images/ocb.sh: the Collector Builder);
# 2. build: a private dockerd (its data in $SWARM_ETL_CACHE/images/dockerd, so its layer cache
#    survives; no iptables, no bridge: it never touches the lab's namespaces), `docker build
#    --network host` of a context staged from the definition (plus the repository files its
#    context.txt lists); the tag is the first 12 hex of sha256(every file of that context, the base
#    tarball's sha256), so a definition that did not change is not built again; a context with a
#    requirements.txt gets its wheels, built here from PyPI, in wheels/;
# 3. publish: `docker save | docker -H <via> load`, push, and the digest the registry answered;
#    with --lab, the images are also kept for the next lab (images/lab_seed.py), whose registry
#    starts with them, and an image already there is not loaded or pushed again.
# A rerun with nothing changed takes seconds.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../engine/versions.sh
. "$REPO/engine/versions.sh"
CACHE="$SWARM_ETL_CACHE/images"
BASE_CACHE="$SWARM_ETL_CACHE/image"   # shared with etl/image/build.sh
BASE_IMAGE=swarm-etl/debian:bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
say() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

registry="" via="" stack="" write_config=1 only=() lab_storage=""
while [ $# -gt 0 ]; do
    case "$1" in
        --lab)
            lab_dir="${SWARM_ETL_LAB_DIR:-/var/lib/swarm-etl-lab}"
            [ -f "$lab_dir/lab.json" ] || die "the lab is not up ($lab_dir/lab.json is missing); fix: run \`lab/lab.sh up\` first"
            registry="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$lab_dir/lab.json")"
            via="unix://$lab_dir/hosts/mgr1/run/docker.sock"
            lab_storage="$lab_dir/registry/storage/docker/registry/v2"
            stack=lab ;;
        --registry) registry="${2:?--registry needs a value}"; shift ;;
        --via) via="${2:?--via needs a value}"; shift ;;
        --stack) stack="${2:?--stack needs a value}"; shift ;;
        --no-config) write_config=0 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        -*) die "unknown option $1; see images/build.sh --help" ;;
        *) only+=("$1") ;;
    esac
    shift
done
[ -n "$registry" ] || die "no registry; fix: --registry host:port (or --lab)"
[ -n "$via" ] || die "no daemon to push through; fix: --via ssh://<manager> (or --lab)"
[ "$write_config" = 0 ] || [ -n "$stack" ] || die "no stack to record the digests in; fix: --stack <name> (or --no-config)"
mkdir -p "$CACHE" "$BASE_CACHE"

# --- the definitions -----------------------------------------------------------------------------
# name of components/stacks/<stack>/images/<dir>: <stack> when dir == stack, else <stack>-<dir>.
declare -A DEFS=()
for df in "$REPO"/components/stacks/*/images/*/Dockerfile; do
    [ -f "$df" ] || continue
    dir="$(dirname "$df")"; img="$(basename "$dir")"; stk="$(basename "$(dirname "$(dirname "$dir")")")"
    name="$stk"; [ "$img" = "$stk" ] || name="$stk-$img"
    DEFS[$name]="$dir"
done
names=()
if [ "${#only[@]}" -gt 0 ]; then
    for n in "${only[@]}"; do [ -n "${DEFS[$n]:-}" ] || die "no image definition named $n; known: ${!DEFS[*]}"; names+=("$n"); done
else
    mapfile -t names < <(printf '%s\n' "${!DEFS[@]}" | sort)
fi

# --- tools ---------------------------------------------------------------------------------------
need=()
for p in debootstrap docker.io; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p"); done
if [ "${#need[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "needs ${need[*]}; run it as root once"
    say "installing ${need[*]}"
    created=0
    [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# --- the build daemon ----------------------------------------------------------------------------
d="$CACHE/dockerd"
sock=/run/swarm-etl-images-docker.sock
mkdir -p "$d/data" "$d/exec"
echo '{}' > "$d/daemon.json"
BUILD_HOST="unix://$sock"
bd() { docker -H "$BUILD_HOST" "$@"; }
pd() { docker -H "$via" "$@"; }
started=0
if ! bd info >/dev/null 2>&1; then
    say "starting the build daemon ($sock, data in $d)"
    dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" -H "$BUILD_HOST" \
        --iptables=false --ip-masq=false --bridge=none --config-file "$d/daemon.json" >"$d/dockerd.log" 2>&1 &
    dockerd_pid=$!
    started=1
    for _ in $(seq 1 120); do bd info >/dev/null 2>&1 && break; sleep 0.5; done
    bd info >/dev/null 2>&1 || die "the build daemon did not start; see $d/dockerd.log"
fi
stop_daemon() { if [ "$started" = 1 ]; then kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null || true; rm -f "$sock"; fi; }
trap stop_daemon EXIT

# --- 1. the bases --------------------------------------------------------------------------------
# base SUITE: the minbase rootfs of SUITE, debootstrapped once into a cached tarball and imported as
# swarm-etl/debian:SUITE (labelled with the tarball's sha256); prints that sha256.
base() {
    local suite=$1 tarball="$BASE_CACHE/debian-$1-minbase.tar" root sum
    if [ ! -s "$tarball" ]; then
        say "debootstrap $suite (minbase) from $MIRROR"
        root="$(mktemp -d "$BASE_CACHE/rootfs.XXXXXX")"
        debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$BASE_CACHE/debootstrap-$suite.log" 2>&1 \
            || { rm -rf "$root"; die "debootstrap $suite failed; see $BASE_CACHE/debootstrap-$suite.log"; }
        tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$root" "$tarball.sha256"
    fi
    [ -s "$tarball.sha256" ] || sha256sum "$tarball" | cut -d' ' -f1 > "$tarball.sha256"
    sum="$(cat "$tarball.sha256")"
    if [ "$(bd image inspect -f '{{index .Config.Labels "swarm-etl.base"}}' "swarm-etl/debian:$suite" 2>/dev/null)" != "$sum" ]; then
        say "docker import swarm-etl/debian:$suite"
        bd import --change "LABEL swarm-etl.base=$sum" "$tarball" "swarm-etl/debian:$suite" >/dev/null
    fi
    echo "$sum"
}
base_sum="$(base bookworm)"
uses_trixie() { grep -q '^ARG BASE_TRIXIE' "$1/Dockerfile"; }
trixie_sum=""
for name in "${names[@]}"; do
    if uses_trixie "${DEFS[$name]}"; then trixie_sum="$(base trixie)"; break; fi
done

# --- 2. build, 3. publish ------------------------------------------------------------------------
# stage NAME DIR: the build context in $CACHE/context/NAME: the definition, plus the repository
# files its context.txt lists (`SOURCE [DESTINATION]`, repo-relative; # comments), e.g. the ETL
# job's code in the Spark image.
stage() {
    local name=$1 dir=$2 ctx="$CACHE/context/$1" src dst
    rm -rf "$ctx"; mkdir -p "$ctx"
    cp -a "$dir/." "$ctx/"
    if [ -f "$dir/context.txt" ]; then
        while read -r src dst; do
            [ -n "$src" ] && [ "${src#\#}" = "$src" ] || continue
            [ -e "$REPO/$src" ] || die "$name: context.txt names $src, which is not in the repository"
            dst="${dst:-$(basename "$src")}"
            mkdir -p "$(dirname "$ctx/$dst")"
            cp -a "$REPO/$src" "$ctx/$dst"
        done < "$dir/context.txt"
        find "$ctx" -name __pycache__ -prune -exec rm -rf {} +
    fi
    if [ -f "$dir/fetch.txt" ]; then
        # Artifacts from a registry this machine reaches (Maven Central, …): `URL SHA256 DESTINATION`
        # lines; fetched here once (a build container does not trust the network's TLS proxy), kept
        # in $CACHE/downloads by their sha256, which must match.
        local url sum dest file
        mkdir -p "$CACHE/downloads"
        while read -r url sum dest; do
            [ -n "$url" ] && [ "${url#\#}" = "$url" ] || continue
            [[ $sum =~ ^[0-9a-f]{64}$ ]] && [ -n "$dest" ] || die "$name: fetch.txt line \`$url $sum $dest\` is not URL SHA256 DESTINATION"
            file="$CACHE/downloads/$sum"
            if [ ! -s "$file" ]; then
                say "$name: fetching $url" >&2
                curl -fsSL --retry 3 -o "$file.part" "$url" || { rm -f "$file.part"; die "$name: fetching $url failed"; }
                [ "$(sha256sum "$file.part" | cut -d' ' -f1)" = "$sum" ] \
                    || { rm -f "$file.part"; die "$name: $url does not have the sha256 fetch.txt pins ($sum); fix: check the artifact, then pin its sha256"; }
                mv "$file.part" "$file"
            fi
            mkdir -p "$(dirname "$ctx/$dest")"
            ln "$file" "$ctx/$dest" 2>/dev/null || cp "$file" "$ctx/$dest"
        done < "$dir/fetch.txt"
    fi
    if [ -f "$dir/go.txt" ]; then
        # Go programs from the Go module proxy: `MODULE@VERSION DESTINATION` lines; built here with
        # this machine's Go (static, -trimpath), once per module, version and Go release, kept in
        # $CACHE/go.
        local mod dest bin gover
        command -v go >/dev/null 2>&1 || die "$name: go.txt needs Go; fix: install Go 1.26 (README: this machine)"
        gover="$(go env GOVERSION)"
        while read -r mod dest; do
            [ -n "$mod" ] && [ "${mod#\#}" = "$mod" ] || continue
            [[ $mod == *@v* ]] && [ -n "$dest" ] || die "$name: go.txt line \`$mod $dest\` is not MODULE@VERSION DESTINATION"
            bin="$CACHE/go/$(printf '%s %s' "$mod" "$gover" | sha256sum | cut -c1-16)"
            if [ ! -f "$bin/.done" ]; then
                say "$name: go install $mod ($gover)" >&2
                rm -rf "$bin"; mkdir -p "$bin/bin"
                (cd "$bin" && CGO_ENABLED=0 GOBIN="$bin/bin" GOFLAGS=-trimpath go install -ldflags="-s -w" "$mod") >"$CACHE/$name.go.log" 2>&1 \
                    || { tail -n 20 "$CACHE/$name.go.log" >&2; die "$name: go install $mod failed; the whole log is $CACHE/$name.go.log"; }
                touch "$bin/.done"
            fi
            local built
            built="$(find "$bin/bin" -maxdepth 1 -type f -perm -u+x | head -n1)"
            [ -n "$built" ] || die "$name: go install $mod made no program in $bin/bin"
            mkdir -p "$(dirname "$ctx/$dest")"
            cp "$built" "$ctx/$dest"
        done < "$dir/go.txt"
    fi
    if [ -f "$dir/go.mod" ]; then
        # Go programs its go.mod's `tool` lines name (images/gotool.sh, cached), as bin/<name>.
        local tools
        tools="$(bash "$REPO/images/gotool.sh" "$dir")" || die "$name: images/gotool.sh $dir failed"
        mkdir -p "$ctx/bin"
        cp "$tools"/* "$ctx/bin/"
        rm -f "$ctx/go.mod" "$ctx/go.sum"
    fi
    if [ -f "$dir/ocb.yaml" ]; then
        # An OpenTelemetry Collector its builder manifest lists (images/ocb.sh, cached), as bin/otelcol.
        local otelcol
        otelcol="$(bash "$REPO/images/ocb.sh" "$dir/ocb.yaml")" || die "$name: images/ocb.sh $dir/ocb.yaml failed"
        mkdir -p "$ctx/bin"
        cp "$otelcol" "$ctx/bin/otelcol"
    fi
    echo "$ctx"
}

# definition_hash DIR: sha256 of every file's path, mode and content (the staged context), and the
# bases it builds on.
definition_hash() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r stat -c '%n %a' && find . -type f -print0 | sort -z | xargs -0 -r sha256sum
     echo "base $base_sum"; if uses_trixie "$1"; then echo "trixie $trixie_sum"; fi) \
        | sha256sum | cut -c1-12
}

declare -A REFS=() TAGS=()
for name in "${names[@]}"; do
    dir="${DEFS[$name]}"
    context="$(stage "$name" "$dir")"
    tag="$(definition_hash "$context")"
    local_ref="swarm-etl/$name:$tag"
    remote_ref="$registry/swarm-etl/$name:$tag"
    if bd image inspect "$local_ref" >/dev/null 2>&1; then
        say "$name: $tag is built"
    else
        say "$name: building $tag (${dir#"$REPO"/})"
        t0=$(date +%s)
        if [ -f "$context/requirements.txt" ]; then
            # Python packages: wheels built here from PyPI through this host (it trusts the network's
            # TLS proxy; a build container does not), once per requirements file (an sdist such as
            # pyspark's is built once, pip's cache keeps the wheel), and the image installs them
            # offline from wheels/ in its context.
            wheels="$CACHE/wheels/$name-$(sha256sum "$context/requirements.txt" | cut -c1-12)"
            if [ ! -f "$wheels/.done" ]; then
                rm -rf "$wheels"; mkdir -p "$wheels"
                PIP_CACHE_DIR="$SWARM_ETL_CACHE/pip" python3 -m pip wheel -q --disable-pip-version-check --use-pep517 -r "$context/requirements.txt" -w "$wheels" >"$CACHE/$name.pip.log" 2>&1 \
                    || { tail -n 20 "$CACHE/$name.pip.log" >&2; die "$name: building the wheels failed; the whole log is $CACHE/$name.pip.log"; }
                touch "$wheels/.done"
            fi
            cp -al "$wheels" "$context/wheels" 2>/dev/null || cp -a "$wheels" "$context/wheels"
        fi
        bd build --network host --build-arg "BASE=$BASE_IMAGE" --build-arg BASE_TRIXIE=swarm-etl/debian:trixie --label "swarm-etl.definition=$tag" -t "$local_ref" "$context" >"$CACHE/$name.build.log" 2>&1 \
            || { tail -n 30 "$CACHE/$name.build.log" >&2; die "$name: docker build failed; the whole log is $CACHE/$name.build.log"; }
        say "$name: built in $(( $(date +%s) - t0 )) s"
    fi
    # The lab's registry seeded from the last lab (lab_seed.py) may hold this tag already: its
    # digest is in the registry's own link file, and nothing is loaded or pushed.
    seeded="$lab_storage/repositories/swarm-etl/$name/_manifests/tags/$tag/current/link"
    if [ -n "$lab_storage" ] && [ -f "$seeded" ]; then
        REFS[$name]="$registry/swarm-etl/$name@$(cat "$seeded")"
        TAGS[$name]="$tag"
        say "$name: ${REFS[$name]} (in the registry already)"
        continue
    fi
    if ! pd image inspect "$remote_ref" >/dev/null 2>&1; then
        say "$name: loading into $via"
        bd save "$local_ref" | pd load -q >/dev/null || die "$name: loading the image into $via failed"
        pd tag "$local_ref" "$remote_ref"
    fi
    pd push -q "$remote_ref" >"$CACHE/$name.push.log" 2>&1 || { cat "$CACHE/$name.push.log" >&2; die "$name: pushing $remote_ref through $via failed"; }
    digest="$(pd image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$remote_ref" | grep -F "$registry/swarm-etl/$name@" | head -n1)"
    [ -n "$digest" ] || die "$name: the registry answered no digest for $remote_ref"
    REFS[$name]="$digest"
    TAGS[$name]="$tag"
    say "$name: $digest"
done

# --- the digests ---------------------------------------------------------------------------------
json="{"
sep=""
for name in "${names[@]}"; do json+="$sep\"$name\": \"${REFS[$name]}\""; sep=", "; done
json+="}"
echo "$json"
if [ "$write_config" = 1 ]; then
    file="$REPO/Pulumi.$stack.yaml"
    [ -f "$file" ] || die "$file does not exist; fix: create the stack's config first (for the lab: lab/lab.sh up)"
    node "$REPO/images/record.js" "$file" "$json"
    say "recorded in ${file#"$REPO"/} (swarm-etl:images)"
fi
if [ -n "$lab_storage" ] && [ ${#only[@]} -eq 0 ]; then
    seed=()
    for name in "${names[@]}"; do seed+=("$name=${TAGS[$name]}=${REFS[$name]##*@}"); done
    python3 "$REPO/images/lab_seed.py" "$lab_storage" "$SWARM_ETL_CACHE/lab/registry-seed" "${seed[@]}" \
        && say "kept for the next lab: $SWARM_ETL_CACHE/lab/registry-seed"
fi
