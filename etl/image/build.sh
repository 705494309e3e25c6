#!/usr/bin/env bash
# Builds the ETL image idempotently: etl/image/build.sh [--private-daemon] [--tag NAME]
#
# 1. a Debian bookworm minbase rootfs from debootstrap, cached as a tarball in
#    $SWARM_ETL_CACHE/image/ and `docker import`ed as swarm-etl/debian:bookworm (once);
# 2. wheels of every pinned requirement in $SWARM_ETL_CACHE/image/wheels (rebuilt when
#    requirements.txt changes; pyspark's wheel comes from pip's cache after the first time);
# 3. `docker build` of a context staged in $SWARM_ETL_CACHE/image/context, tagged
#    swarm-etl/flights-etl:<hash of the context> and :latest; skipped when that tag exists.
#
# It talks to the daemon in DOCKER_HOST (default: the local one). --private-daemon starts a
# dockerd of its own (own --data-root/--exec-root/--pidfile, unix:///run/swarm-etl-etl-docker.sock,
# no iptables, no bridge) for the build and stops it afterwards; builds then use --network host.
set -euo pipefail
ETL="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../env.sh
. "$ETL/env.sh"
CACHE="$SWARM_ETL_CACHE/image"
BASE_IMAGE=swarm-etl/debian:bookworm
NAME=swarm-etl/flights-etl
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
private=0
while [ $# -gt 0 ]; do
    case "$1" in
        --private-daemon) private=1 ;;
        --tag) NAME="$2"; shift ;;
        *) echo "usage: etl/image/build.sh [--private-daemon] [--tag NAME]" >&2; exit 2 ;;
    esac
    shift
done
say() { printf '\033[1m[etl image]\033[0m %s\n' "$*"; }
mkdir -p "$CACHE"

need=()
for p in debootstrap docker.io; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p"); done
if [ "${#need[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "etl/image/build.sh: needs ${need[*]}; run it as root once" >&2; exit 1; }
    say "installing ${need[*]}"
    created=0
    [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

if [ "$private" = 1 ]; then
    d="$SWARM_ETL_CACHE/etl-dockerd"
    sock=/run/swarm-etl-etl-docker.sock
    mkdir -p "$d/data" "$d/exec"
    echo '{}' > "$d/daemon.json"   # not /etc/docker/daemon.json: nothing shared with other daemons
    say "starting a private dockerd ($sock, data in $d)"
    dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" -H "unix://$sock" \
        --iptables=false --ip-masq=false --bridge=none --config-file "$d/daemon.json" >"$d/dockerd.log" 2>&1 &
    dockerd_pid=$!
    stop_daemon() { kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null; rm -f "$sock"; }
    trap stop_daemon EXIT
    export DOCKER_HOST="unix://$sock"
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "private dockerd did not start; see $d/dockerd.log" >&2; exit 1; }
fi

# 1. the base image
tarball="$CACHE/debian-bookworm-minbase.tar"
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if [ ! -s "$tarball" ]; then
        say "debootstrap bookworm (minbase) from $MIRROR"
        root="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
        debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || { echo "debootstrap failed; see $CACHE/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
        tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$root"
    fi
    say "docker import $BASE_IMAGE"
    docker import "$tarball" "$BASE_IMAGE" >/dev/null
fi

# 2. wheels for every pin
wheels="$CACHE/wheels"
want="$(sha256sum "$ETL/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$wheels/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    say "building wheels for requirements.txt"
    rm -rf "$wheels" && mkdir -p "$wheels"
    PIP_CACHE_DIR="$SWARM_ETL_CACHE/pip" "$ETL_PY" -m pip wheel --quiet --disable-pip-version-check --no-deps \
        --use-pep517 -r "$ETL/requirements.txt" -w "$wheels"
    echo "$want" > "$wheels/.requirements.sha256"
fi

# 3. the image
ctx="$CACHE/context"
rm -rf "$ctx" && mkdir -p "$ctx"
cp "$ETL/image/Dockerfile" "$ETL/requirements.txt" "$ctx/"
cp -r "$ETL/flights_etl" "$ctx/flights_etl"
find "$ctx/flights_etl" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$ctx/wheels"
cp -l "$wheels"/*.whl "$ctx/wheels/" 2>/dev/null || cp "$wheels"/*.whl "$ctx/wheels/"
tag="$( (cd "$ctx" && find . -type f ! -path './wheels/*' -print0 | sort -z | xargs -0 sha256sum; cat "$wheels/.requirements.sha256") | sha256sum | cut -c1-12)"
if docker image inspect "$NAME:$tag" >/dev/null 2>&1; then
    say "$NAME:$tag is up to date"
else
    say "docker build $NAME:$tag"
    docker build --network host --build-arg "BASE=$BASE_IMAGE" -t "$NAME:$tag" "$ctx"
fi
docker tag "$NAME:$tag" "$NAME:latest"
say "image: $NAME:$tag (also :latest)"
