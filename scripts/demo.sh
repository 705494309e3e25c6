#!/usr/bin/env bash
# The main job: bring the lab up, run `pulumi up --stack lab` with the real engine (the swarm, the
# data tier, Spark, the ETL job run on it into the warehouse, Keycloak with the platform realm, the
# edge, metrics, alerts, logs and traces), print the stack's outputs, what the ETL loaded and the UIs' URLs. Does its own setup on a fresh machine.
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
# A person for the demo: a platform admin whose first password is made once and kept in the lab's
# directory (the realm creates the user with it; the first login asks for a new one).
pw_file="$SWARM_ETL_LAB_DIR/demo-admin-password"
[ -s "$pw_file" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(12))' > "$pw_file")
pulumi config set --stack lab --path 'identity.users[0].username' admin
pulumi config set --stack lab --path 'identity.users[0].email' admin@lab.swarm-etl.test
pulumi config set --stack lab --path 'identity.users[0].firstName' Demo
pulumi config set --stack lab --path 'identity.users[0].lastName' Admin
pulumi config set --stack lab --path 'identity.users[0].groups[0]' platform-admin
pulumi config set --stack lab --secret --path 'identity.users[0].initialPassword' "$(cat "$pw_file")"
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
echo
echo "== the ETL: the flights job ran on the swarm's Spark cluster ($(pulumi stack output sparkMaster --stack lab)), loading the warehouse"
member="$(ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 "docker service ps pg-wkr1 --filter desired-state=running --format '{{.Node}}'")"
warehouse() {
    echo "$1" | ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" "$member" 'docker exec -i $(docker ps -q -f label=com.docker.swarm.service.name=pg-wkr1) sh -c '"'"'PGPASSWORD="$(cat /run/secrets/pg-superuser)" psql -h pg-router -U postgres -d warehouse -v ON_ERROR_STOP=1 -P footer=off -f -'"'"
}
warehouse "SELECT run_id, status, spark_master, finished_at - started_at AS took, rows_loaded, round(load_rows_per_second) AS load_rows_per_s,
       (SELECT count(*) FILTER (WHERE passed) || ' of ' || count(*) FROM flights.etl_dq_result d WHERE d.run_id = r.run_id) AS checks_passed
  FROM flights.etl_run r ORDER BY started_at DESC LIMIT 3;
SELECT 'fact_flight' AS \"table\", count(*) AS \"rows\" FROM flights.fact_flight
UNION ALL SELECT 'dim_airport', count(*) FROM flights.dim_airport UNION ALL SELECT 'dim_airline', count(*) FROM flights.dim_airline
UNION ALL SELECT 'dim_plane', count(*) FROM flights.dim_plane UNION ALL SELECT 'dim_weather', count(*) FROM flights.dim_weather
UNION ALL SELECT 'dim_date', count(*) FROM flights.dim_date UNION ALL SELECT 'quarantine', count(*) FROM flights.quarantine;"
entrance="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["managers"][0]["publicAddress"])' "$SWARM_ETL_LAB_DIR/lab.json")"
pulumi stack output edgeCertificate --stack lab > "$SWARM_ETL_LAB_DIR/edge.pem"
cat <<EOF

Where to look next: every UI is behind the edge (https on each manager's public address, port 8443),
signed in through Keycloak as admin (first password in $pw_file; you choose a new one):
$(pulumi stack output edgeUrls --stack lab --json | python3 -c 'import json,sys; [print(f"  {k:<14} {v}") for k, v in json.load(sys.stdin).items()]')
  The names are not in any DNS: map them to $entrance, e.g.
    chromium --host-resolver-rules="MAP *.lab.swarm-etl.test $entrance" --ignore-certificate-errors
  or add "$entrance auth.lab.swarm-etl.test $(pulumi stack output edgeUrls --stack lab --json | python3 -c 'import json,sys,urllib.parse; print(" ".join(urllib.parse.urlsplit(v).hostname for v in json.load(sys.stdin).values()))')" to /etc/hosts
  and trust $SWARM_ETL_LAB_DIR/edge.pem (the edge's certificate, the edgeCertificate output).
  The Admin REST API: the service account swarm-etl-admin, its secret from pulumi stack output --stack lab --show-secrets keycloakAdminClientSecret (docs/identity.md)
  the run's log  ssh -F $SWARM_ETL_LAB_DIR/ssh/config mgr1 docker service logs etl-flights
  run it again   pulumi config set --stack lab etl.runId "\$(date +%s)" && pulumi up --stack lab   (docs/spark.md)

Clients attach to the overlay network $(pulumi stack output postgresNetwork --stack lab) and connect to
  $(pulumi stack output postgresPrimary --stack lab)   the primary (reads and writes)
  $(pulumi stack output postgresReplicas --stack lab)   the replicas (reads)
as warehouse (owner), etl_writer or analyst; each role's password is the Swarm secret named in
\`pulumi stack output postgresSecrets --stack lab\` (mount it and read it through *_FILE).
A backup now: on $sched, docker exec <swarm-etl-scheduler's container> swarm-etl-scheduler run pg-backup-full --wait
(restore and point-in-time restore: docs/postgres.md, "Runbooks").
EOF
