# Sourced by the demo and the tests: the engine on PATH and the `lab` stack's backend.
# The lab's Pulumi state lives with the lab (it describes hosts that exist only while the lab
# does), and the lab's passphrase is a fixed, documented one: the lab is throwaway. Real stacks
# (dev, prod) take PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE from their CI's secret store.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../engine/env.sh
. "$REPO/engine/env.sh"
export SWARM_ETL_LAB_DIR="${SWARM_ETL_LAB_DIR:-/var/lib/swarm-etl-lab}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$SWARM_ETL_LAB_DIR/pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-swarm-etl-lab}"
mkdir -p "$SWARM_ETL_LAB_DIR/pulumi-state"
