#!/usr/bin/env bash
# Backup and restore throughput: pgBackRest (the stack's repository, zstd, 2 processes) against
# plain pg_basebackup of the same database, both run on the repository's node and writing to a
# volume there, in one run. Needs the lab with the data tier deployed (`npm run demo`).
#   bash bench/postgres/backup.sh [SCALE] [RUNS]     (defaults 50 and 3)
# Writes bench/postgres/backup-results.md and keeps every raw output in bench/postgres/raw/.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCALE=${1:-50}
RUNS=${2:-3}
LAB_DIR=${SWARM_ETL_LAB_DIR:-/var/lib/swarm-etl-lab}
SSH=(ssh -F "$LAB_DIR/ssh/config")
OUT="$REPO/bench/postgres"
mkdir -p "$OUT/raw"
node=$("${SSH[@]}" mgr1 "docker service ps pg-backup --filter desired-state=running --format '{{.Node}}'" | head -n1)
[ -n "$node" ] || { echo "no pg-backup service: is the data tier deployed with backups? (npm run demo)" >&2; exit 1; }
repo="\$(docker ps -q -f label=com.docker.swarm.service.name=pg-backup | head -n1)"
members=(wkr1 wkr2)
leader=""
for m in "${members[@]}"; do
    role=$("${SSH[@]}" "$m" "docker exec \$(docker ps -q -f label=com.docker.swarm.service.name=pg-$m) swarm-etl-pg-health /primary && echo primary || true" 2>/dev/null)
    [ "$role" = primary ] && leader=$m
done
[ -n "$leader" ] || { echo "no primary found (npm run demo)" >&2; exit 1; }
onleader() { "${SSH[@]}" "$leader" "docker exec \$(docker ps -q -f label=com.docker.swarm.service.name=pg-$leader) $*"; }
onrepo() { "${SSH[@]}" "$node" "docker exec $repo $*"; }
echo "primary: $leader; repository on $node; pgbench scale $SCALE"
onleader "sh -c 'psql -h /run/patroni -U postgres -d postgres -Atc \"DROP DATABASE IF EXISTS bench\" -c \"CREATE DATABASE bench\" && pgbench -h /run/patroni -U postgres -i -q -s $SCALE bench'" >/dev/null 2>&1
size=$(onleader "psql -h /run/patroni -U postgres -d postgres -Atc \"SELECT pg_database_size('bench')\"")
total=$(onleader "psql -h /run/patroni -U postgres -d postgres -Atc \"SELECT sum(pg_database_size(datname)) FROM pg_database\"")
mb=$(awk -v b="$total" 'BEGIN {printf "%.0f", b/1048576}')
echo "cluster size: $mb MiB"

# pg_basebackup as a one-off Swarm job on the repository's node, with the replication password
# from its secret, into a volume there (plain format, WAL streamed: the usual way).
secret=$("${SSH[@]}" mgr1 "docker service inspect pg-wkr1 --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}'" | tr ' ' '\n' | grep '^pg-replication-')
image=$("${SSH[@]}" mgr1 "docker service inspect pg-backup --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}'")
basebackup() {
    local i=$1
    "${SSH[@]}" mgr1 "docker service rm bench-basebackup >/dev/null 2>&1 || true"
    "${SSH[@]}" mgr1 "docker service create -q --detach --name bench-basebackup --mode replicated-job --restart-condition none \
        --network pg-net --constraint node.hostname==$node --secret source=$secret,target=pg-replication,uid=999,gid=999,mode=0400 \
        --mount type=volume,source=bench-basebackup,target=/var/lib/pgbackrest --entrypoint sh $image -c \
        'rm -rf /var/lib/pgbackrest/$i && s=\$(date +%s.%N) && PGPASSWORD=\$(cat /run/secrets/pg-replication) pg_basebackup -h pg-$leader -U replicator -D /var/lib/pgbackrest/$i -Fp -Xstream -c fast && e=\$(date +%s.%N) && echo basebackup_seconds=\$(python3 -c \"print(\$e-\$s)\") && s=\$(date +%s.%N) && cp -a /var/lib/pgbackrest/$i /var/lib/pgbackrest/$i.restored && e=\$(date +%s.%N) && echo copy_seconds=\$(python3 -c \"print(\$e-\$s)\") && rm -rf /var/lib/pgbackrest/$i /var/lib/pgbackrest/$i.restored'" >/dev/null
    for _ in $(seq 1 600); do
        st=$("${SSH[@]}" mgr1 "docker service ps bench-basebackup --format '{{.CurrentState}}'" | head -n1)
        case "$st" in Complete*|Failed*|Rejected*) break ;; esac
        sleep 1
    done
    "${SSH[@]}" mgr1 "docker service logs --raw bench-basebackup 2>&1"
    "${SSH[@]}" mgr1 "docker service rm bench-basebackup >/dev/null"
}
declare -a bb_s pgbr_s pgbr_r cp_s
for i in $(seq 1 "$RUNS"); do
    raw="$OUT/raw/basebackup-$i.txt"
    basebackup "$i" >"$raw" 2>&1
    bb=$(printf '%.2f' "$(grep -oP 'basebackup_seconds=\K[0-9.]+' "$raw")"); cp=$(printf '%.2f' "$(grep -oP 'copy_seconds=\K[0-9.]+' "$raw")")
    raw2="$OUT/raw/pgbackrest-$i.txt"
    s=$(date +%s.%N); onrepo "pgbackrest --stanza=pg --type=full backup" >"$raw2" 2>&1; e=$(date +%s.%N)
    br=$(python3 -c "print(round($e-$s, 2))")
    s=$(date +%s.%N); onrepo "sh -c 'rm -rf /tmp/restore && pgbackrest --stanza=pg --reset-pg1-host --pg1-path=/tmp/restore restore >/dev/null && du -sm /tmp/restore && rm -rf /tmp/restore'" >>"$raw2" 2>&1; e=$(date +%s.%N)
    rr=$(python3 -c "print(round($e-$s, 2))")
    echo "run $i: pg_basebackup ${bb} s (copy back ${cp} s); pgBackRest backup ${br} s, restore ${rr} s"
    bb_s+=("$bb"); cp_s+=("$cp"); pgbr_s+=("$br"); pgbr_r+=("$rr")
done
onrepo "pgbackrest --stanza=pg info" >"$OUT/raw/pgbackrest-info.txt" 2>&1
"${SSH[@]}" "$node" "docker volume rm bench-basebackup >/dev/null 2>&1 || true"
onleader "psql -h /run/patroni -U postgres -d postgres -Atc \"DROP DATABASE bench\"" >/dev/null
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mbb=$(median "${bb_s[@]}"); mbr=$(median "${pgbr_s[@]}"); mcp=$(median "${cp_s[@]}"); mrr=$(median "${pgbr_r[@]}")
rate() { awk -v m="$mb" -v s="$1" 'BEGIN {printf "%.0f", m/s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
stored=$(grep -oP 'repo1: backup set size: \K[0-9.]+[A-Z]+' "$OUT/raw/pgbackrest-info.txt" | tail -n1 || true)
cat >"$OUT/backup-results.md" <<EOT
# Backup and restore: pgBackRest against plain pg_basebackup

\`bash bench/postgres/backup.sh $SCALE $RUNS\` on $(date -u +%Y-%m-%d), the lab: primary on $leader, the
repository on $node; the cluster holds $mb MiB (pgbench scale $SCALE). Both tools run on the repository's
node and write to a volume there, alternating, in one run.

| | runs (s) | median | MiB/s |
| --- | --- | --- | --- |
| pg_basebackup -Fp -Xstream (plain, uncompressed) | ${bb_s[*]} | $mbb s | $(rate "$mbb") |
| pgBackRest full backup (zstd, 2 processes, through its TLS server) | ${pgbr_s[*]} | $mbr s | $(rate "$mbr") |
| restore: copy the base backup back (cp -a) | ${cp_s[*]} | $mcp s | $(rate "$mcp") |
| restore: pgbackrest restore into an empty directory | ${pgbr_r[*]} | $mrr s | $(rate "$mrr") |

pgBackRest / pg_basebackup backup time: **$(ratio "$mbr" "$mbb")**; restore time against the copy:
**$(ratio "$mrr" "$mcp")**. pgBackRest's backup set is stored compressed (${stored:-see raw/pgbackrest-info.txt});
a pg_basebackup is as large as the cluster. Raw outputs: \`raw/basebackup-*.txt\`, \`raw/pgbackrest-*.txt\`.
EOT
cat "$OUT/backup-results.md"
