#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently (a second run takes seconds):
# Debian packages, Node 22, the Pulumi engine built from the Go module proxy, and node_modules.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "setup: the lab needs root (network namespaces, dockerd); run as root" >&2
    exit 1
fi

# chromium: the headless browser the edge tests drive (playwright-core); prometheus and
# prometheus-alertmanager: their promtool and amtool check the rendered configurations and unit-test
# the alerting rules; prometheus-blackbox-exporter checks its rendered modules (no server is started here).
# Debian packages. docker.io's maintainer scripts must not start a dockerd in the root
# namespace (its FORWARD DROP policy would cut the lab's bridges), hence policy-rc.d.
PKGS=(docker.io containerd runc openssh-server openssh-client iptables iproute2 psmisc procps util-linux curl ca-certificates python3 python3-venv chromium prometheus prometheus-alertmanager prometheus-blackbox-exporter)
missing=()
# Installed, not merely known (a removed package keeps its config files and `dpkg -s` still succeeds).
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# Node 22, the Pulumi CLI, our Node.js language host and the engine's wrapper scripts.
bash "$REPO/engine/build.sh"
# shellcheck source=../engine/env.sh
. "$REPO/engine/env.sh"

# node_modules from the lockfile, only when the lockfile changed since the last install.
stamp=node_modules/.swarm-etl-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
fi
say "ready: node $(node --version), pulumi $(pulumi version)"
