#!/usr/bin/env bash
# Installs everything the ETL job, its tests and its bench need, idempotently (a warm rerun takes
# about a second): Debian packages (Java 17, Python 3 venv, PostgreSQL 15 server and client) and a
# Python venv in $SWARM_ETL_CACHE/etl-venv built from the exact pins of requirements-test.txt.
# The venv is rebuilt only when a requirements file or the Python version changes; pip's cache
# (the pyspark wheel built once from its sdist) lives in $SWARM_ETL_CACHE/pip, outside the repo.
set -euo pipefail
ETL="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$ETL/env.sh"

say() { printf '\033[1m[etl setup]\033[0m %s\n' "$*"; }

# Debian packages. policy-rc.d exits 101 during the install so that postgresql's maintainer
# scripts start no server (the tests start their own, in a temp dir).
PKGS=(openjdk-17-jre-headless python3 python3-venv postgresql-15 postgresql-client-15 ca-certificates procps tzdata)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "etl setup: Debian packages missing: ${missing[*]}; run etl/setup.sh as root once (it apt-get installs them)" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
    fi
    trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    trap - EXIT
fi
[ -x "$JAVA_HOME/bin/java" ] || { echo "etl setup: no Java 17 at $JAVA_HOME (package openjdk-17-jre-headless)" >&2; exit 1; }

# The venv, rebuilt from scratch when the pins or the interpreter change.
mkdir -p "$SWARM_ETL_CACHE"
stamp="$ETL_VENV/.swarm-etl-requirements.sha256"
want="$(cat "$ETL/requirements.txt" "$ETL/requirements-test.txt" <(/usr/bin/python3 --version) | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "building the venv in $ETL_VENV (pip cache: $SWARM_ETL_CACHE/pip)"
    rm -rf "$ETL_VENV"
    /usr/bin/python3 -m venv "$ETL_VENV"
    PIP_CACHE_DIR="$SWARM_ETL_CACHE/pip" "$ETL_VENV/bin/pip" install --quiet --disable-pip-version-check \
        --use-pep517 -r "$ETL/requirements-test.txt"
    # Every installed package must be pinned: a dependency that slipped in unpinned fails here.
    installed="$("$ETL_VENV/bin/pip" freeze --disable-pip-version-check | tr 'A-Z_' 'a-z-' | sort)"
    pinned="$(grep -h -E '^[A-Za-z0-9._-]+==' "$ETL/requirements.txt" "$ETL/requirements-test.txt" | tr 'A-Z_' 'a-z-' | sort)"
    if [ "$installed" != "$pinned" ]; then
        echo "etl setup: the venv differs from the pins (< installed, > pinned); pin every package exactly:" >&2
        diff <(echo "$installed") <(echo "$pinned") >&2 || true
        exit 1
    fi
    echo "$want" > "$stamp"
fi
say "ready: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), $("$ETL_PY" --version), pyspark $("$ETL_PY" -c 'import pyspark; print(pyspark.__version__)')"
