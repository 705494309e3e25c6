#!/usr/bin/env bash
# The main job: bring the lab up, run `pulumi up --stack lab` with the real engine (the swarm, the
# data tier, Spark, and the ETL job run on it into the warehouse), print the stack's outputs, what
# the ETL loaded and where to look next. Does its own setup on a fresh machine.
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
master_node="$(ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 "docker service ps spark-master --filter desired-state=running --format '{{.Node}}'")"
kc_node="$(ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" mgr1 "docker service ps keycloak --filter desired-state=running --format '{{.Node}}'")"
# A UI's address on its node's docker_gwbridge (its task's endpoint there, keyed by container ID): ui_ip SERVICE [NODE].
ui_ip() {
    # shellcheck disable=SC2016 # expanded on the node
    ssh -F "$SWARM_ETL_LAB_DIR/ssh/config" "${2:-$master_node}" 'id=$(docker ps -q --no-trunc -f label=com.docker.swarm.service.name='"$1"' | head -n1)
        docker network inspect docker_gwbridge -f "{{range \$id, \$c := .Containers}}{{\$id}} {{\$c.IPv4Address}}{{println}}{{end}}" | awk -v id="$id" "\$1 == id {print \$2}" | cut -d/ -f1'
}
cat <<EOF

Where to look next (the UIs publish no port until the identity issue's edge; tunnel to them):
  Spark master   ssh -F $SWARM_ETL_LAB_DIR/ssh/config -N -L 8080:$(ui_ip spark-master):8080 $master_node    then http://localhost:8080
  history server ssh -F $SWARM_ETL_LAB_DIR/ssh/config -N -L 18080:$(ui_ip spark-history):18080 $master_node  then http://localhost:18080
  Keycloak       ssh -F $SWARM_ETL_LAB_DIR/ssh/config -N -L 8180:$(ui_ip keycloak "$kc_node"):8080 $kc_node       then http://localhost:8180 (the Admin REST API: the service
                 account swarm-etl-admin, its secret from pulumi stack output --stack lab --show-secrets keycloakAdminClientSecret; docs/identity.md)
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
