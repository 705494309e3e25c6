# shellcheck shell=bash
# What `up` hands to others: the `lab` stack's config (Pulumi.lab.yaml in the
# repo root) and $LAB_DIR/lab.json (same facts plus admin details).

LAB_JSON=$LAB_DIR/lab.json

# write_stack_config: Pulumi.lab.yaml, in the shape the program's schema reads.
write_stack_config() {
  local h tmp=$STACK_CONFIG.tmp.$$
  {
    echo "# Written by \`lab/lab.sh up\` — do not edit by hand."
    echo "config:"
    echo "  swarm-etl:profile: lab"
    echo "  swarm-etl:sshUser: root"
    echo "  swarm-etl:sshPrivateKeyPath: $CLIENT_KEY"
    echo "  swarm-etl:bastion:"
    echo "    name: bastion"
    echo "    publicAddress: $(host_pub bastion)"
    echo "    privateAddress: $(host_priv bastion)"
    echo "    hostKey: $(host_key bastion)"
    echo "  swarm-etl:managers:"
    for h in $(managers); do
      echo "    - name: $h"
      echo "      publicAddress: $(host_pub "$h")"
      echo "      privateAddress: $(host_priv "$h")"
      echo "      hostKey: $(host_key "$h")"
      # The Spark master (and the ETL job's driver, the history server) on the last manager.
      [[ $h != "$(managers | tail -n1)" ]] || echo "      labels: {swarm-etl.spark: master}"
    done
    if ((LAB_WORKERS)); then
      echo "  swarm-etl:workers:"
      for h in $(workers); do
        echo "    - name: $h"
        echo "      privateAddress: $(host_priv "$h")"
        echo "      hostKey: $(host_key "$h")"
        echo "      labels: {swarm-etl.postgres: \"true\", swarm-etl.spark: worker}"
      done
    else
      echo "  swarm-etl:workers: []"
    fi
    echo "  swarm-etl:network:"
    echo "    publicCidr: $PUB_CIDR"
    echo "    privateCidr: $PRIV_CIDR"
    echo "  swarm-etl:registry: $REGISTRY"
    echo "  swarm-etl:endpointMode: dnsrr"
    echo "  swarm-etl:publishMode: host"
    echo "  swarm-etl:encryptOverlays: false"
    echo "  swarm-etl:demo:"
    echo "    image: $(busybox_images | head -n1)"
    # Keep the salt `pulumi stack init` added for this lab's stack (secrets stay readable).
    if [[ -f $STACK_CONFIG ]]; then grep -E '^encryptionsalt: ' "$STACK_CONFIG" || true; fi
  } >"$tmp"
  mv "$tmp" "$STACK_CONFIG"
}

# host_json HOST: one host's JSON object.
host_json() {
  local h=$1 pub
  pub=$(host_pub "$h")
  printf '{ "name": "%s", "role": "%s", ' "$h" "$(host_role "$h")"
  [[ -z $pub ]] || printf '"publicAddress": "%s", ' "$pub"
  printf '"privateAddress": "%s", "sshAddress": "%s", ' "$(host_priv "$h")" "$(ssh_addr "$h")"
  printf '"hostKey": "%s", "netns": "%s"' "$(host_key "$h")" "$(host_ns "$h")"
  if [[ $h != bastion ]]; then
    printf ', "dockerSocket": %s, "dockerHost": %s' \
      "$(json_str "$(docker_sock "$h")")" "$(json_str "unix://$(docker_sock "$h")")"
  fi
  printf ' }'
}

# json_list HOST...: JSON array of host objects, one per line.
json_list() {
  local h sep=""
  printf '['
  for h in "$@"; do printf '%s\n    %s' "$sep" "$(host_json "$h")"; sep=,; done
  if (($#)); then printf '\n  ]'; else printf ']'; fi
}

# write_lab_json: $LAB_DIR/lab.json.
write_lab_json() {
  local imgs img sep="" tmp=$LAB_JSON.tmp.$$
  mapfile -t imgs < <(busybox_images)
  {
    echo "{"
    echo "  \"project\": \"swarm-etl\","
    echo "  \"labDir\": $(json_str "$LAB_DIR"),"
    echo "  \"stackConfig\": $(json_str "$STACK_CONFIG"),"
    echo "  \"sshUser\": \"root\","
    echo "  \"sshPrivateKeyPath\": $(json_str "$CLIENT_KEY"),"
    echo "  \"sshConfig\": $(json_str "$SSH_CONFIG"),"
    echo "  \"knownHosts\": $(json_str "$KNOWN_HOSTS"),"
    echo "  \"network\": { \"publicCidr\": \"$PUB_CIDR\", \"privateCidr\": \"$PRIV_CIDR\", \"operatorAddress\": \"$OPERATOR_ADDR\", \"operatorLink\": \"$OPERATOR_LINK\" },"
    echo "  \"registry\": \"$REGISTRY\","
    printf '  "images": ['
    for img in "${imgs[@]}"; do printf '%s"%s"' "$sep" "$img"; sep=", "; done
    echo "],"
    echo "  \"busyboxImage\": \"${imgs[0]}\","
    echo "  \"endpointMode\": \"dnsrr\","
    echo "  \"publishMode\": \"host\","
    echo "  \"encryptOverlays\": false,"
    echo "  \"bastion\": $(host_json bastion),"
    # shellcheck disable=SC2046 # host names are single words
    echo "  \"managers\": $(json_list $(managers)),"
    # shellcheck disable=SC2046
    echo "  \"workers\": $(json_list $(workers))"
    echo "}"
  } >"$tmp"
  mv "$tmp" "$LAB_JSON"
}
