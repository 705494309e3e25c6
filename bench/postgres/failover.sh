#!/usr/bin/env bash
# Failover: the primary's node crashes (its Docker daemon and every container on it, lab.sh dockerd
# crash) while a client writes through the router in a loop; measured: from the crash to the first
# write acknowledged after it, and the window of failed writes the client saw. RUNS times with the
# stack's timing (ttl 10 s, loop 2 s, retry 4 s), then RUNS times with Patroni's defaults (30/10/10)
# set in the DCS for the comparison, then the stack's timing back. Needs `npm run demo`.
#   bash bench/postgres/failover.sh [RUNS]      (default 5)
# Writes bench/postgres/failover-results.md and keeps every raw run in bench/postgres/raw/.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS=${1:-5}
LAB_DIR=${SWARM_ETL_LAB_DIR:-/var/lib/swarm-etl-lab}
SSH=(ssh -F "$LAB_DIR/ssh/config")
OUT="$REPO/bench/postgres"
mkdir -p "$OUT/raw"
members=(wkr1 wkr2)
ctr() { echo "\$(docker ps -q -f label=com.docker.swarm.service.name=pg-$1)"; }
leader() {
    for m in "${members[@]}"; do
        if "${SSH[@]}" "$m" "docker exec $(ctr "$m") swarm-etl-pg-health /primary" >/dev/null 2>&1; then echo "$m"; return; fi
    done
}
# Healthy: a leader and the other member a streaming synchronous standby.
healthy() {
    for _ in $(seq 1 180); do
        for m in "${members[@]}"; do
            out=$("${SSH[@]}" "$m" "docker exec $(ctr "$m") patronictl -c /run/patroni/patroni.yml list -f json" 2>/dev/null || true)
            if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); r=[x["Role"] for x in d if x["State"] in ("running","streaming")]; sys.exit(0 if r.count("Leader")==1 and r.count("Sync Standby")==1 else 1)' "$out" 2>/dev/null; then return 0; fi
        done
        sleep 1
    done
    echo "the cluster did not become healthy" >&2; return 1
}
WRITER=$(base64 -w0 <<'PY'
import json, sys, time
import psycopg2
seconds = float(sys.argv[1])
pw = open("/run/secrets/pg-superuser").read().strip()
acked, errors, conn, t0 = [], [], None, time.time()
while time.time() - t0 < seconds:
    try:
        if conn is None:
            conn = psycopg2.connect(host="pg-router", port=5432, dbname="postgres", user="postgres", password=pw, connect_timeout=2,
                                    options="-c statement_timeout=3000", keepalives=1, keepalives_idle=2, keepalives_interval=1,
                                    keepalives_count=2, tcp_user_timeout=3000)
            conn.autocommit = True
            with conn.cursor() as c:
                c.execute("CREATE TABLE IF NOT EXISTS failover_bench (at double precision)")
        with conn.cursor() as c:
            c.execute("INSERT INTO failover_bench VALUES (%s)", (time.time(),))
        acked.append(time.time())
    except Exception:
        errors.append(time.time())
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        time.sleep(0.2)
    time.sleep(0.05)
print(json.dumps({"acked": acked, "errors": errors}))
PY
)
dcs() { # ttl loop_wait retry_timeout
    local l; l=$(leader)
    "${SSH[@]}" "$l" "docker exec $(ctr "$l") patronictl -c /run/patroni/patroni.yml edit-config --force -s ttl=$1 -s loop_wait=$2 -s retry_timeout=$3" >/dev/null
    sleep $(( $2 * 2 + 2 ))
}
declare -A first window
run() { # label index
    local label=$1 i=$2 l client raw kill_at
    healthy
    l=$(leader); client=$(for m in "${members[@]}"; do if [ "$m" != "$l" ]; then echo "$m"; fi; done | head -n1)
    raw="$OUT/raw/failover-$label-$i.json"
    "${SSH[@]}" "$client" "echo $WRITER | base64 -d | docker exec -i $(ctr "$client") python3 - 70" >"$raw" &
    local writer=$!
    sleep 8
    kill_at=$(date +%s.%N)
    bash "$REPO/lab/lab.sh" dockerd "$l" crash >/dev/null
    wait "$writer"
    read -r f w < <(python3 - "$raw" "$kill_at" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); k = float(sys.argv[2])
after = [a for a in d["acked"] if a > k]
errs = [e for e in d["errors"] if e > k - 1]
# The first write acknowledged after the first failure (writes go on for a moment after the crash).
recovered = min((a for a in after if a > errs[0]), default=float("inf")) if errs else (after[0] if after else float("inf"))
first = recovered - k
win = recovered - errs[0] if errs else 0.0
print(f"{first:.1f} {win:.1f}")
PY
)
    first[$label-$i]=$f; window[$label-$i]=$w
    echo "$label run $i: primary $l crashed; first write acknowledged after ${f} s; writes failed for ${w} s"
    bash "$REPO/lab/lab.sh" dockerd "$l" start >/dev/null
}
for i in $(seq 1 "$RUNS"); do run tuned "$i"; done
healthy; dcs 30 10 10
for i in $(seq 1 "$RUNS"); do run defaults "$i"; done
healthy; dcs 10 2 4; healthy
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
row() { local label=$1 fs=() ws=(); for i in $(seq 1 "$RUNS"); do fs+=("${first[$label-$i]}"); ws+=("${window[$label-$i]}"); done
    echo "| $2 | ${fs[*]} | **$(median "${fs[@]}") s** | ${ws[*]} | $(median "${ws[@]}") s |"; }
cat >"$OUT/failover-results.md" <<EOT
# Failover: the primary's node crashes

\`bash bench/postgres/failover.sh $RUNS\` on $(date -u +%Y-%m-%d), the lab (2 members on wkr1/wkr2, synchronous
replication, etcd on the 3 managers, the router checking Patroni twice a second and forwarding in the kernel). Each run: a client on the
other member writes through pg-router:5432 in a loop (autocommit, 50 ms apart); 8 s in, the primary's
node crashes (lab.sh dockerd crash: its daemon, containerd and every container killed); it comes back
after the run. The same runs with Patroni's default timing set in the DCS, in the same session.

| timing (ttl / loop_wait / retry_timeout) | crash → first acknowledged write, runs (s) | median | failed-write window, runs (s) | median |
| --- | --- | --- | --- | --- |
$(row tuned "the stack's: 10 / 2 / 4")
$(row defaults "Patroni's defaults: 30 / 10 / 10")

Why tuned: the leader key's ttl bounds how long a dead primary blocks the standby's promotion, and
loop_wait how soon a member notices; 10/2/4 keeps Patroni's rule (loop_wait + 2 × retry_timeout ≤ ttl)
on a LAN where etcd answers in milliseconds. Raw runs: \`raw/failover-*.json\`.
EOT
cat "$OUT/failover-results.md"
