#!/usr/bin/env bash
# The main job: bring the lab up, run `pulumi up --stack lab` with the real engine, print the
# stack's outputs. Does its own setup on a fresh machine.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh
bash lab/lab.sh up
# The platform's images, built here (cached by content hash) and pushed to the lab registry;
# their digests go into Pulumi.lab.yaml (swarm-etl:images).
bash images/build.sh --lab
. scripts/lab-env.sh
pulumi stack select --create lab
pulumi up --stack lab --yes --skip-preview --refresh
echo
echo "== stack outputs (secrets hidden; \`pulumi stack output --show-secrets\` reveals them)"
pulumi stack output --stack lab
echo
echo "== the swarm, seen from mgr1 through the bastion"
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 docker node ls
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 docker service ps demo-web
echo
echo "== the data tier: PostgreSQL with Patroni (seen from a member)"
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" wkr1 'docker exec $(docker ps -q -f label=com.docker.swarm.service.name=pg-wkr1) patronictl -c /run/patroni/patroni.yml list'
echo
echo "== backups: the repository on $(pulumi stack output postgresBackupRepository --stack lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["node"])'), the scheduled templates"
node="$(pulumi stack output postgresBackupRepository --stack lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["node"])')"
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" "$node" 'docker exec $(docker ps -q -f label=com.docker.swarm.service.name=pg-backup) pgbackrest --stanza=pg info'
sched="$(ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 docker service ps swarm-etl-scheduler --filter desired-state=running --format '{{.Node}}')"
ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" "$sched" 'docker exec $(docker ps -q -f label=com.docker.swarm.service.name=swarm-etl-scheduler) swarm-etl-scheduler list'
cat <<EOF

Clients attach to the overlay network $(pulumi stack output postgresNetwork --stack lab) and connect to
  $(pulumi stack output postgresPrimary --stack lab)   the primary (reads and writes)
  $(pulumi stack output postgresReplicas --stack lab)   the replicas (reads)
as warehouse (owner), etl_writer or analyst; each role's password is the Swarm secret named in
\`pulumi stack output postgresSecrets --stack lab\` (mount it and read it through *_FILE).
A backup now: on $sched, docker exec <swarm-etl-scheduler's container> swarm-etl-scheduler run pg-backup-full --wait
(restore and point-in-time restore: docs/postgres.md, "Runbooks").
EOF
