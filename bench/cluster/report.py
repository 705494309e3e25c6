"""Writes bench/cluster/results.md from the runs of one `run.sh` invocation.

    python report.py RUNS_TSV META_JSON OUT_MD

RUNS_TSV columns: workers, run, tool (ansible|pulumi), wall_s, user_s, sys_s, ok, ready_wait_s.
META_JSON: the machine, the versions and the command (written by run.sh).
"""
import json
import re
import os
import statistics
import sys

runs_tsv, meta_json, out_md = sys.argv[1:4]
meta = json.load(open(meta_json))
rows = []
for line in open(runs_tsv):
    w, r, tool, wall, user, sys_, ok, ready, quiet, load1, machine = line.rstrip("\n").split("\t")
    rows.append(dict(workers=int(w), run=int(r), tool=tool, wall=float(wall), cpu=float(user) + float(sys_), ok=ok == "true",
                     ready=float(ready), quiet=int(quiet), load1=float(load1), machine=float(machine)))

sizes = sorted({r["workers"] for r in rows})
fmt = lambda x: f"{x:.1f} s"
lines = []
add = lines.append
add("# Cluster bootstrap: `pulumi up` of swarm-etl against an Ansible playbook (community.docker)")
add("")
add(f"Measured {meta['date']} on the lab ({meta['managers']} managers; workers: {', '.join(map(str, sizes))}), "
    f"by `{meta['command']}`. Issue 4, \"Speed, against the peer\".")
if meta.get("note"):
    add("")
    add(meta["note"])
add("")
add("## Results")
add("")
add("Wall-clock time of the one command each tool's user runs, from an empty swarm (every node `inactive`) to a "
    "verified swarm. Median of the runs, min–max in brackets; CPU is user+sys of the command and the processes it waited for "
    "(the machine has 2 cores).")
add("")
add("| managers + workers | runs | Ansible (`ansible-playbook`) | swarm-etl (`pulumi up`) | ratio ours/Ansible (medians) | CPU Ansible / ours (medians) |")
add("| --- | --- | --- | --- | --- | --- |")
med = {}
for w in sizes:
    a = [r for r in rows if r["workers"] == w and r["tool"] == "ansible"]
    p = [r for r in rows if r["workers"] == w and r["tool"] == "pulumi"]
    ma, mp = statistics.median(x["wall"] for x in a), statistics.median(x["wall"] for x in p)
    med[w] = (ma, mp)
    add(f"| {meta['managers']} + {w} | {len(a)} / {len(p)} | {fmt(ma)} ({min(x['wall'] for x in a):.1f}–{max(x['wall'] for x in a):.1f}) "
        f"| {fmt(mp)} ({min(x['wall'] for x in p):.1f}–{max(x['wall'] for x in p):.1f}) | {mp / ma:.2f} "
        f"| {statistics.median(x['cpu'] for x in a):.1f} s / {statistics.median(x['cpu'] for x in p):.1f} s |")
add("")
if len(sizes) > 1:
    lo, hi = sizes[0], sizes[-1]
    add(f"Growth from {lo} to {hi} workers (medians): Ansible {med[hi][0] - med[lo][0]:+.1f} s "
        f"({(med[hi][0] - med[lo][0]) / (hi - lo):+.2f} s per worker), swarm-etl {med[hi][1] - med[lo][1]:+.1f} s "
        f"({(med[hi][1] - med[lo][1]) / (hi - lo):+.2f} s per worker).")
    add("")
target = all(mp <= 0.5 * ma for ma, mp in med.values())
add(f"Target of issue 4 (ours at most half of Ansible's): {'met' if target else '**not met**'} "
    f"({', '.join(f'{w} workers: {med[w][1] / med[w][0]:.2f}' for w in sizes)}).")
add("")
# Where ours spends its time: the median run of each size, from its time-stamped output.
def phases(logfile):
    ev = {}
    for line in open(logfile):
        m = re.match(r"\s*([\d.]+)\s+\+\s+(\S+) (\S+) (creating|created)", line)
        if m:
            t, typ, name, what = float(m[1]), m[2].rsplit(":", 1)[-1], m[3], m[4]
            ev.setdefault((typ, name, what), t)
    first = lambda typ, what: min((t for (ty, _, w), t in ev.items() if ty == typ and w == what), default=None)
    last = lambda typ, what: max((t for (ty, _, w), t in ev.items() if ty == typ and w == what), default=None)
    return {
        "program running (first resource of the cluster registered)": first("SwarmCluster", "creating"),
        "host checks done": last("HostCheck", "created"),
        "swarm initialized": first("SwarmInit", "created"),
        "last worker joined": max((t for (ty, n, w), t in ev.items() if ty == "SwarmJoin" and w == "created" and "wkr" in n), default=None),
        "last manager joined": max((t for (ty, n, w), t in ev.items() if ty == "SwarmJoin" and w == "created" and "mgr" in n), default=None),
        "last resource created": max((t for (ty, _, w), t in ev.items() if w == "created" and ty != "Stack"), default=None),
    }

if meta.get("logs"):
    add("Where swarm-etl's time goes (the median run of each size; seconds since `pulumi up` started, from its time-stamped output):")
    add("")
    add("| workers | run | program running | host checks done | swarm initialized | last worker joined | last manager joined | last resource created | command ended |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for w in sizes:
        p = sorted((r for r in rows if r["workers"] == w and r["tool"] == "pulumi"), key=lambda r: r["wall"])
        r = p[(len(p) - 1) // 2]
        try:
            ph = phases(f"{meta['logs']}/pulumi-w{w}-r{r['run']}.log")
        except OSError:
            continue
        cell = lambda v: "–" if v is None else f"{v:.1f}"
        add(f"| {w} | {r['run']} | " + " | ".join(cell(v) for v in ph.values()) + f" | {r['wall']:.1f} |")
    add("")
add("Every run, in the order run:")
add("")
add("| workers | run | tool | wall | CPU of the command | CPU of the whole machine during it | load (1 min) at start | waited for a quiet machine | verified | Ready after (verify wait) |")
add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    add(f"| {r['workers']} | {r['run']} | {r['tool']} | {fmt(r['wall'])} | {fmt(r['cpu'])} | {fmt(r['machine'])} | {r['load1']:.2f} | {r['quiet']} s "
        f"| {'yes' if r['ok'] else 'NO'} | {r['ready']:.1f} s |")
add("")
add("CPU of the whole machine: busy CPU-seconds of all processes (both cores) while the command ran, from /proc/stat: the "
    "command, what it made the nodes do (sshd, dockerd, Ansible's modules), and any other session's work on the machine. "
    "The machine is shared with other sessions (test runs, Spark jobs): each timed command starts after 2 quiet seconds "
    "(< 25% busy), but a job that starts during a run slows it down; a run whose machine CPU is far above its peers' was disturbed.")
add("")
add("## What was timed")
add("")
labels = "and the node labels (2 per node: `etl.tier`, `etl.zone`)" if meta["labels"] else "(no node labels in this run: `--no-labels`)"
for para in [
    "Both tools start from the same state: the lab at that size (`lab/lab.sh up --managers 3 --workers W`), every node's "
    "dockerd running and out of any swarm (`docker swarm leave --force` on each node before each timed run). Both reach "
    "the nodes the same way: SSH to the bastion's public address, then a second SSH session to the node's private "
    "address, host keys pinned on both hops. Each timed command is followed by the same check (`verify.py`, untimed): "
    f"exactly the expected nodes, each Ready, with its role, its private address as node (and manager) address, {labels}.",
    "**Ansible**: `ansible-playbook -i inventory.yml swarm.yml` (inventory generated from the lab's `lab.json`, SSH via "
    "the lab's OpenSSH config with `ProxyJump bastion` and its pinned `known_hosts`). The playbook: community.docker "
    "`docker_swarm` init on mgr1 (advertise/listen/data-path address = private address); a play with `serial: 1` "
    "joining mgr2, mgr3 one at a time; a play joining every worker in parallel; a play running `docker_node` (labels) "
    "for every node, delegated to mgr1, in parallel. The modules run on the nodes with the Docker SDK for Python. "
    "Settings (`ansible.cfg`): Ansible's defaults (host key checking on, `ControlMaster=auto`, `ControlPersist=60s`) "
    "except `pipelining = True` and forks = number of nodes (at least the default 5) — both only make Ansible faster; "
    "facts are not gathered (nothing uses them). Each run starts with no SSH connection open (a fresh ControlPath "
    "directory per run; the masters are closed after the run, untimed).",
    "**swarm-etl**: `pulumi up --yes --skip-preview --stack bench` of this repository's program (a copy of it taken "
    "when the bench started, its own `node_modules`), with the stack `bench` freshly created before each run (empty "
    "state, untimed `pulumi stack init`) and removed after it (`pulumi stack rm --force`). Its config is the lab's "
    "`Pulumi.lab.yaml` with `demo.enabled: false` and the same labels on every managers/workers entry: the program "
    "does what it does for the cluster (SwarmInit on mgr1, managers joining one at a time, workers in parallel — "
    "they start as soon as the swarm exists, without waiting for the managers — and whatever else the program "
    "declares for the cluster at that commit). The time includes the CLI, the TypeScript compile of the program "
    "(ts-node), the dynamic provider's start and the SSH connections through the bastion. Default `--parallel`."
    + (f" `PULUMI_NODEJS_TRANSPILE_ONLY={meta['transpileOnly']}` (`engine/env.sh` sets `true` unless the environment says "
       f"otherwise): ts-node {'only transpiles the program, without type checking' if meta['transpileOnly'] == 'true' else 'type-checks the program'}." if meta.get("transpileOnly") else
       " TypeScript as the program is configured (`tsconfig.json`; ts-node type-checks unless `compilerOptions.noCheck`)."),
    "Resources the program created (from `pulumi stack export` after the first run of each size): "
    + "; ".join(f"{w} workers: {r}" for w, r in sorted(meta.get("resources", {}).items(), key=lambda kv: int(kv[0]))) + ".",
    "Time is the wall clock of the command (`/usr/bin/time`); CPU is the user+sys it reports (the command and the "
    "children it waited for on the operator side). What runs on the nodes is not in it: sshd, dockerd, and for Ansible "
    "the modules' Python (one process per task and node, importing the Docker SDK) — the nodes are namespaces of the "
    "same 2-core machine, so that work competes with the tool for the same cores.",
]:
    add(para)
    add("")
add("## Caveats")
add("")
for para in [
    "- **A shared machine.** Other sessions (tests, Spark jobs) ran on the same 2 cores during the bench. The wait for a "
    "quiet machine and the machine-CPU column make that visible, not absent: compare runs whose whole-machine CPU is "
    "close to the lowest of their tool and size (undisturbed) with the others.",
    "- **The nodes share those cores.** In the lab every node is a namespace of this machine, so work done on the nodes "
    "competes with the tool itself. Ansible runs one Python process per task and node that imports the Docker SDK "
    "(whole-machine CPU of an undisturbed Ansible run is several times its own CPU); swarm-etl talks to each dockerd "
    "over SSH channels and runs almost nothing on the nodes. On a real cluster each node has its own CPU, so "
    "Ansible's growth with the number of workers measured here is larger than it would be there.",
    "- **No network latency.** SSH round trips through the bastion cost almost nothing here; on a real network, the "
    "number of round trips and SSH handshakes of each tool adds to these times.",
]:
    add(para)
repeated = os.path.join(os.path.dirname(runs_tsv), "repeated.txt")
if os.path.exists(repeated):
    runs = [l.split() for l in open(repeated) if l.strip()]
    add("- **Repeated runs.** A manager join hit Docker's own 20 s join timeout (\"the attempt to join the swarm will "
        "continue in the background\"), which the playbook reports as a failure; the run was repeated once from a reset "
        "swarm and only the repeat is in the tables: " + ", ".join(f"{t} with {w} workers, run {r}" for t, w, r in runs) + ".")
add("")
add("## Machine and versions")
add("")
for k, v in meta["versions"].items():
    add(f"- {k}: {v}")
add("")
add("## Reproduce")
add("")
add("```sh")
add("bash bench/cluster/setup.sh          # the Ansible venv (also done by run.sh)")
add(meta["command"])
add("```")
add("")
add("Logs of every run (ansible-playbook and pulumi output, verification) are kept in `bench/cluster/.logs/<date>/` (git-ignored).")
open(out_md, "w").write("\n".join(lines) + "\n")
