"""Checks the swarm the bench just built, from the first manager's engine (lab admin path).

    python verify.py EXPECTED_JSON LAB_SH [TIMEOUT_S]

Passes when, within TIMEOUT_S (default 60): the swarm has exactly the expected nodes (by hostname),
each with its role, Status Ready, its private address as node address (managers: private:2377 as
manager address), and exactly the expected labels. Prints one JSON line:
{"ok": bool, "readyWait": seconds until it passed, "problems": [...]}; exit 0 iff ok.
"""
import json
import subprocess
import sys
import time

expected_path, lab_sh = sys.argv[1:3]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
expected = json.load(open(expected_path))
first = next(n["name"] for n in expected if n["role"] == "manager")


def docker(*args):
    return subprocess.run(["bash", lab_sh, "docker", first, *args], capture_output=True, text=True, timeout=30)


def problems():
    ids = docker("node", "ls", "-q")
    if ids.returncode != 0:
        return [f"docker node ls on {first}: {ids.stderr.strip()}"]
    nodes = json.loads(docker("node", "inspect", *ids.stdout.split()).stdout or "[]")
    seen = {n["Description"]["Hostname"]: n for n in nodes}
    out = []
    for e in expected:
        n = seen.pop(e["name"], None)
        if n is None:
            out.append(f"{e['name']}: not in the swarm")
            continue
        if n["Spec"]["Role"] != e["role"]:
            out.append(f"{e['name']}: role {n['Spec']['Role']}, want {e['role']}")
        if n["Status"]["State"] != "ready":
            out.append(f"{e['name']}: status {n['Status']['State']}")
        if n["Status"].get("Addr") != e["privateAddress"]:
            out.append(f"{e['name']}: node address {n['Status'].get('Addr')}, want {e['privateAddress']}")
        if e["role"] == "manager":
            addr = (n.get("ManagerStatus") or {}).get("Addr")
            if addr != f"{e['privateAddress']}:2377":
                out.append(f"{e['name']}: manager address {addr}, want {e['privateAddress']}:2377")
        labels = n["Spec"].get("Labels") or {}
        if labels != e["labels"]:
            out.append(f"{e['name']}: labels {labels}, want {e['labels']}")
    for name in seen:
        out.append(f"{name}: in the swarm but not expected")
    return out


start = time.monotonic()
while True:
    p = problems()
    waited = round(time.monotonic() - start, 1)
    if not p or waited >= timeout:
        break
    time.sleep(0.5)
print(json.dumps({"ok": not p, "readyWait": waited, "problems": p}))
sys.exit(0 if not p else 1)
