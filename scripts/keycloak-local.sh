#!/usr/bin/env bash
# A local Keycloak for the realm-as-code tests (tests/keycloak): the Quarkus distribution the
# platform's image is built from (components/stacks/identity/images/keycloak/fetch.txt, pinned by
# sha256), in dev mode (`kc.sh start-dev`, its database a file: --db=dev-file) on a free loopback
# port, with a bootstrap admin *client* (a service account of the master realm, the same kind the
# platform uses). Its secret is in a config file only this user reads (--config-file), never in an
# environment variable or a command line. Idempotent: a Keycloak already running is reused.
#
#   scripts/keycloak-local.sh [start]  fetch (once), extract (once), start, wait until ready;
#                                      prints the URL as the last line of stdout
#   scripts/keycloak-local.sh stop     stop the one it started (its process group, by its pid)
#   scripts/keycloak-local.sh status   exit 0 and print the URL when it is running and ready
#   scripts/keycloak-local.sh reset    stop, then forget its database and admin secret
#
# Where: ${SWARM_ETL_CACHE:-~/.cache/swarm-etl}/downloads (the tarball, by sha256) and
# keycloak-local/ (the distribution, its dev-file database, run/: pid, port, log, secret, and
# endpoint.env with KEYCLOAK_URL, KEYCLOAK_ADMIN_CLIENT_ID and KEYCLOAK_ADMIN_CLIENT_SECRET_FILE).
# Needs Java 17 or newer (Keycloak 26's own images run 21; 17 starts it for these tests).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../engine/versions.sh
. "$REPO/engine/versions.sh"
FETCH="$REPO/components/stacks/identity/images/keycloak/fetch.txt"
HOME_DIR="$SWARM_ETL_CACHE/keycloak-local"
RUN="$HOME_DIR/run"
CLIENT_ID=swarm-etl-admin
START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-420}"

say() { printf '\033[1m[keycloak-local]\033[0m %s\n' "$*" >&2; }
die() { printf 'keycloak-local: %s\n' "$*" >&2; exit 1; }

read -r URL SUM _ < <(grep -v '^#' "$FETCH" | grep 'keycloak-quarkus-dist')
[[ -n ${URL:-} && ${SUM:-} =~ ^[0-9a-f]{64}$ ]] || die "$FETCH has no keycloak-quarkus-dist line (URL SHA256 DESTINATION)"
VERSION="$(basename "$URL" .tar.gz)"
VERSION="${VERSION#keycloak-quarkus-dist-}"
DIST="$HOME_DIR/keycloak-$VERSION"

running_pid() {
    local pid
    pid="$(cat "$RUN/pid" 2>/dev/null)" || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
base_url() { echo "http://127.0.0.1:$(cat "$RUN/port")"; }
ready() { curl -fsS -o /dev/null --max-time 3 "$(base_url)/realms/master/.well-known/openid-configuration" 2>/dev/null; }

need_java() {
    command -v java >/dev/null 2>&1 || die "Java is not installed; fix: apt-get install -y openjdk-17-jre-headless (Debian bookworm), then run this again"
    local v
    v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    [[ ${v:-0} -ge 17 ]] || die "Java ${v:-?} is too old for Keycloak $VERSION; fix: apt-get install -y openjdk-17-jre-headless (or 21), and put it first on PATH"
}

fetch() {
    local file="$SWARM_ETL_CACHE/downloads/$SUM" images="$SWARM_ETL_CACHE/images/downloads/$SUM"
    mkdir -p "$SWARM_ETL_CACHE/downloads"
    if [[ ! -s $file && -s $images ]]; then
        # images/build.sh fetched the same artifact for the Keycloak image.
        ln "$images" "$file" 2>/dev/null || cp "$images" "$file"
    fi
    if [[ ! -s $file ]]; then
        say "fetching $URL"
        curl -fsSL --retry 3 -o "$file.part" "$URL" || { rm -f "$file.part"; die "fetching $URL failed"; }
        mv "$file.part" "$file"
    fi
    [[ "$(sha256sum "$file" | cut -d' ' -f1)" == "$SUM" ]] \
        || { rm -f "$file"; die "$URL does not have the sha256 fetch.txt pins ($SUM); removed it; fix: check the artifact, then pin its sha256"; }
    if [[ ! -x $DIST/bin/kc.sh ]]; then
        say "extracting Keycloak $VERSION into $DIST"
        local tmp
        tmp="$(mktemp -d "$HOME_DIR/.extract.XXXXXX")"
        tar -xzf "$file" -C "$tmp" --strip-components=1
        mv "$tmp" "$DIST"
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() {
    mkdir -p "$RUN"
    chmod 700 "$HOME_DIR" "$RUN"
    if running_pid >/dev/null && ready; then
        base_url
        return 0
    fi
    running_pid >/dev/null && stop
    need_java
    fetch
    umask 077
    # The bootstrap admin client is made only on the first start of an empty database: a new
    # secret goes with a new database.
    if [[ ! -s $RUN/admin-secret ]]; then
        rm -rf "$DIST/data"
        head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40 > "$RUN/admin-secret"
    fi
    printf 'bootstrap-admin-client-id=%s\nbootstrap-admin-client-secret=%s\n' "$CLIENT_ID" "$(cat "$RUN/admin-secret")" > "$RUN/keycloak.conf"
    local port
    port="$(free_port)"
    echo "$port" > "$RUN/port"
    say "starting Keycloak $VERSION (start-dev, dev-file database) on 127.0.0.1:$port; log: $RUN/keycloak.log"
    # Its own session and process group (setsid), so `stop` ends exactly it and what it started.
    JAVA_OPTS_KC_HEAP="-Xms64m -Xmx768m" setsid "$DIST/bin/kc.sh" --config-file="$RUN/keycloak.conf" start-dev \
        --db=dev-file --http-host=127.0.0.1 --http-port="$port" \
        </dev/null >"$RUN/keycloak.log" 2>&1 &
    echo $! > "$RUN/pid"
    local deadline=$((SECONDS + START_TIMEOUT))
    until ready; do
        if ! running_pid >/dev/null; then
            tail -n 40 "$RUN/keycloak.log" >&2
            die "Keycloak exited while starting (its log above, all of it in $RUN/keycloak.log)"
        fi
        if ((SECONDS > deadline)); then
            tail -n 20 "$RUN/keycloak.log" >&2
            stop
            die "Keycloak was not ready within $START_TIMEOUT s (a busy machine: KEYCLOAK_START_TIMEOUT=900 $0)"
        fi
        sleep 2
    done
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d grant_type=client_credentials -d "client_id=$CLIENT_ID" \
        --data-urlencode "client_secret@$RUN/admin-secret" "$(base_url)/realms/master/protocol/openid-connect/token")"
    [[ $code == 200 ]] || die "Keycloak is up but refuses its bootstrap admin client $CLIENT_ID (HTTP $code): its database predates the secret; fix: $0 reset, then $0 start"
    printf 'KEYCLOAK_URL=%s\nKEYCLOAK_ADMIN_CLIENT_ID=%s\nKEYCLOAK_ADMIN_CLIENT_SECRET_FILE=%s\n' "$(base_url)" "$CLIENT_ID" "$RUN/admin-secret" > "$RUN/endpoint.env"
    say "ready after $SECONDS s"
    base_url
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        say "stopping Keycloak (pid $pid)"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$RUN/pid" "$RUN/endpoint.env"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) running_pid >/dev/null && ready && base_url ;;
    reset)
        stop
        rm -rf "$DIST/data" "$RUN/admin-secret" "$RUN/keycloak.conf"
        ;;
    *) die "usage: $0 [start|stop|status|reset]" ;;
esac
