#!/usr/bin/env bash
# Selects (or creates) a stack and puts the SSH private key from the CI secret store into its
# config as a secret, so that nothing secret ever lives in the repository. The key is read from
# SWARM_ETL_SSH_PRIVATE_KEY and piped to `pulumi config set --secret` (never on a command line);
# the encrypted value stays in the runner's checkout only. Says which secret is missing, and
# where to set it, before any Pulumi command runs.
#   SWARM_ETL_SSH_PRIVATE_KEY=… bash .github/scripts/stack-secrets.sh STACK
set -euo pipefail
stack=${1:?usage: stack-secrets.sh STACK}
where="the GitHub environment of the ${stack} stack (Settings → Environments; see docs/ci.md)"

missing=()
[[ -n ${SWARM_ETL_SSH_PRIVATE_KEY:-} ]] || missing+=("SWARM_ETL_SSH_PRIVATE_KEY (the SSH private key for the bastion and the nodes)")
[[ -n ${PULUMI_BACKEND_URL:-}${PULUMI_ACCESS_TOKEN:-} ]] || missing+=("PULUMI_BACKEND_URL (self-managed state: s3://…, azblob://…, gs://…) or PULUMI_ACCESS_TOKEN (Pulumi Cloud)")
if [[ -z ${PULUMI_CONFIG_PASSPHRASE:-} ]] && ! grep -qs '^secretsprovider:' "Pulumi.${stack}.yaml"; then
  missing+=("PULUMI_CONFIG_PASSPHRASE (the stack's passphrase; or set a KMS secretsprovider in Pulumi.${stack}.yaml)")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  for m in "${missing[@]}"; do echo "::error title=Missing CI secret::${m} is not set; add it to ${where}" >&2; done
  exit 1
fi

pulumi stack select --create --non-interactive "$stack"
# The program needs exactly one of sshPrivateKey and sshPrivateKeyPath.
pulumi config rm --stack "$stack" sshPrivateKeyPath >/dev/null 2>&1 || true
printf '%s\n' "$SWARM_ETL_SSH_PRIVATE_KEY" | pulumi config set --secret --stack "$stack" sshPrivateKey
echo "stack ${stack}: sshPrivateKey set from the CI secret store (encrypted in this checkout only)"
