#!/usr/bin/env bash
# The main job: bring the lab up, run `pulumi up --stack lab` with the real engine, print the
# stack's outputs. Does its own setup on a fresh machine.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh
bash lab/lab.sh up
. scripts/lab-env.sh
pulumi stack select --create lab
pulumi up --stack lab --yes --skip-preview
echo
echo "== stack outputs (secrets hidden; \`pulumi stack output --show-secrets\` reveals them)"
pulumi stack output --stack lab
echo
echo "== the swarm, seen from mgr1 through the bastion"
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 docker node ls
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 docker service ps demo-web
