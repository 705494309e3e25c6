#!/usr/bin/env python3
"""Keeps the platform's images for the next lab: a copy of the lab registry's storage holding
exactly the images just pushed (their manifests, configs and layers, hard-linked: blobs are
content-addressed and never rewritten) and the registry's link files for their tags, written
afresh. `lab/lab.sh up` seeds a new registry from it, so that images/build.sh --lab finds each
image already there and loads and pushes nothing (about 4 minutes on this machine).

    lab_seed.py STORAGE SEED NAME=TAG=DIGEST...

STORAGE is the registry's docker/registry/v2 directory, SEED the seed's (replaced whole)."""
import json
import os
import shutil
import sys


def blob(root: str, digest: str) -> str:
    algo, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd[:2], hexd, "data")


def link(path: str, digest: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="ascii") as f:
        f.write(digest)


def main(storage: str, seed: str, images: list[str]) -> None:
    new = seed + ".new"
    shutil.rmtree(new, ignore_errors=True)
    for spec in images:
        name, tag, digest = spec.split("=", 2)
        with open(blob(storage, digest), encoding="utf-8") as f:
            manifest = json.load(f)
        if "layers" not in manifest:   # an index: not kept (the next lab pushes it again)
            print(f"lab_seed: {name}: {manifest.get('mediaType')} is not an image manifest; not kept", file=sys.stderr)
            continue
        layers = [manifest["config"]["digest"]] + [layer["digest"] for layer in manifest["layers"]]
        for d in [digest] + layers:
            dest = blob(new, d)
            if not os.path.exists(dest):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                try:
                    os.link(blob(storage, d), dest)
                except OSError:   # another file system
                    shutil.copy2(blob(storage, d), dest)
        repo = os.path.join(new, "repositories", "swarm-etl", name)
        for d in layers:
            link(os.path.join(repo, "_layers", *d.split(":"), "link"), d)
        link(os.path.join(repo, "_manifests", "revisions", *digest.split(":"), "link"), digest)
        link(os.path.join(repo, "_manifests", "tags", tag, "current", "link"), digest)
        link(os.path.join(repo, "_manifests", "tags", tag, "index", *digest.split(":"), "link"), digest)
    shutil.rmtree(seed, ignore_errors=True)
    os.rename(new, seed)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
