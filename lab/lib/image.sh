# shellcheck shell=bash
# The lab's base image, built without any registry: Debian's busybox-static
# as a rootfs tarball (cached), `docker import`ed into mgr1, pushed to the
# lab registry, and pulled back by a worker to prove distribution works.

BUSYBOX_REPO=lab/busybox

# busybox_tags: "1.35.0 1.35" (upstream version of Debian's busybox-static).
busybox_tags() {
  local v
  v=$(deb_upstream_version busybox-static)
  echo "$v ${v%.*}"
}

# busybox_images: the image names pushed, minor-version tag first.
busybox_images() {
  local t
  for t in $(busybox_tags | awk '{print $2, $1}'); do echo "$REGISTRY/$BUSYBOX_REPO:$t"; done
}

# busybox_rootfs_tar: path of the cached rootfs tarball (built if missing).
busybox_rootfs_tar() {
  local ver tar root pkg
  ver=$(busybox_tags | cut -d' ' -f1)
  tar=$LAB_CACHE/busybox-$ver-rootfs.tar
  if [[ ! -s $tar ]]; then
    pkg=$(unpack_deb busybox-static)
    root=$(mktemp -d "$LAB_CACHE/rootfs.XXXXXX")
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,tmp,var/tmp,proc,sys,dev,run}
    cp "$pkg/bin/busybox" "$root/bin/busybox"
    chroot "$root" /bin/busybox --install -s # applet symlinks -> /bin/busybox
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
    printf '%s\n' 'root:*:19000:0:99999:7:::' 'nobody:*:19000:0:99999:7:::' >"$root/etc/shadow"
    printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 700 "$root/root"
    chmod 640 "$root/etc/shadow"
    tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$root" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$root"
  fi
  echo "$tar"
}

# image_ok: every busybox tag is in the registry.
image_ok() {
  local t
  for t in $(busybox_tags); do registry_has_tag "$BUSYBOX_REPO" "$t" || return 1; done
}

# image_publish: import into mgr1, push every tag, then pull and run it on a
# worker (or the last manager).
image_publish() {
  local tar imgs first img probe
  tar=$(busybox_rootfs_tar)
  mapfile -t imgs < <(busybox_images)
  first=${imgs[0]}
  dk mgr1 import \
    --change 'CMD ["sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --message "busybox-static $(deb_upstream_version busybox-static) (swarm-etl lab)" \
    "$tar" "$first" >/dev/null
  for img in "${imgs[@]}"; do
    [[ $img == "$first" ]] || dk mgr1 tag "$first" "$img"
    dk mgr1 push -q "$img" >/dev/null
  done

  probe=$(workers | head -n1)
  [[ -n $probe ]] || probe=$(managers | tail -n1)
  [[ $probe != mgr1 ]] || dk mgr1 rmi "${imgs[@]}" >/dev/null
  dk "$probe" pull -q "$first" >/dev/null
  [[ $(dk "$probe" run --rm --network none "$first" sh -c 'echo ok') == ok ]] ||
    die "the busybox image does not run on $probe"
  [[ $probe == mgr1 ]] || dk "$probe" rmi "$first" >/dev/null # workers start empty
}
