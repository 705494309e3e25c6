"""The Docker part of bench/cluster/floor.sh: the swarm operations alone, on the nodes' own Docker
sockets through the Engine API (Docker SDK for Python, low-level client): no SSH, no bastion, no
process per call. Init on the first manager, the workers join in parallel while the other managers
join one at a time, then labels on every node in parallel. Prints the seconds it took.

    python floor_docker.py LAB_JSON          (every node must be out of any swarm)
"""
import json
import sys
import threading
import time

import docker

lab = json.load(open(sys.argv[1]))
hosts = {h["name"]: h for h in lab["managers"] + lab["workers"]}
api = {n: docker.APIClient(base_url=h["dockerHost"]) for n, h in hosts.items()}
first = lab["managers"][0]["name"]


def addr(n):
    return hosts[n]["privateAddress"]


def join(n, token):
    api[n].join_swarm(remote_addrs=[f"{addr(first)}:2377"], join_token=token, listen_addr=f"{addr(n)}:2377",
                      advertise_addr=addr(n), data_path_addr=addr(n))


def label(node):
    spec = dict(node["Spec"], Labels={"etl.tier": "x", "etl.zone": "a"})
    api[first].update_node(node["ID"], node["Version"]["Index"], spec)


def parallel(fn, args):
    threads = [threading.Thread(target=fn, args=a) for a in args]
    for t in threads:
        t.start()
    return threads


t0 = time.monotonic()
api[first].init_swarm(advertise_addr=addr(first), listen_addr=f"{addr(first)}:2377", data_path_addr=addr(first))
tokens = api[first].inspect_swarm()["JoinTokens"]
workers = parallel(join, [(w["name"], tokens["Worker"]) for w in lab["workers"]])
for m in lab["managers"][1:]:
    join(m["name"], tokens["Manager"])
for t in workers:
    t.join()
for t in parallel(label, [(n,) for n in api[first].nodes()]):
    t.join()
elapsed = time.monotonic() - t0
nodes = api[first].nodes()
if len(nodes) != len(hosts) or any(n["Status"]["State"] != "ready" for n in nodes):
    sys.exit(f"floor_docker: the swarm is not {len(hosts)} ready nodes: {[(n['Description']['Hostname'], n['Status']['State']) for n in nodes]}")
print(f"{elapsed:.3f}")
