# shellcheck shell=bash
# The lab registry: Debian's docker-registry (distribution 2.x), unpacked from
# its .deb into the cache (never installed: its init script would start a
# registry in the root namespace), run by the bastion on 198.18.20.2:5000,
# plain HTTP (the engines list it in insecure-registries), storage in $LAB_DIR.

REGISTRY_DIR=$LAB_DIR/registry

# registry_prepare: binary link, config and storage directory.
registry_prepare() {
  local pkgdir
  pkgdir=$(unpack_deb docker-registry)
  mkdir -p "$REGISTRY_DIR/storage"
  registry_seed
  ln -sfn "$pkgdir/usr/bin/docker-registry" "$REGISTRY_DIR/docker-registry"
  cat >"$REGISTRY_DIR/config.yml" <<EOF
# Lab registry (written by lab/lab.sh up)
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
}

# registry_seed: a new registry starts with the platform's images of the last lab, which
# images/build.sh --lab kept in the cache (images/lab_seed.py; blobs hard-linked, links copied),
# so that the build finds them there and pushes nothing. Never the lab's own busybox image: up
# publishes and pulls that one every time, to prove distribution works.
registry_seed() {
  local seed=$LAB_CACHE/registry-seed v2=$REGISTRY_DIR/storage/docker/registry/v2
  [[ -d $seed/repositories/swarm-etl && ! -e $v2 ]] || return 0
  mkdir -p "$v2/repositories"
  cp -al "$seed/blobs" "$v2/blobs" 2>/dev/null || cp -a "$seed/blobs" "$v2/blobs"
  cp -a "$seed/repositories/swarm-etl" "$v2/repositories/swarm-etl"
}

# registry_has_tag REPO TAG: the registry's storage holds REPO:TAG.
registry_has_tag() {
  [[ -f $REGISTRY_DIR/storage/docker/registry/v2/repositories/$1/_manifests/tags/$2/current/link ]]
}
