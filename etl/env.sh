# Sourced by etl/setup.sh, run.sh, test.sh and bench/etl: where the venv and caches live, which
# Java and Python the job uses. Caches stay outside the repo.
SWARM_ETL_CACHE="${SWARM_ETL_CACHE:-$HOME/.cache/swarm-etl}"
ETL_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETL_VENV="$SWARM_ETL_CACHE/etl-venv"
ETL_PY="$ETL_VENV/bin/python"
# Debian's Java 17 (Spark 4 supports 17 and 21); another JDK on PATH (e.g. a newer Temurin) is not used.
JAVA_HOME="${ETL_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture 2>/dev/null || echo amd64)}"
PYSPARK_PYTHON="$ETL_PY"
PYSPARK_DRIVER_PYTHON="$ETL_PY"
PYTHONPATH="$ETL_HOME${PYTHONPATH:+:$PYTHONPATH}"
export SWARM_ETL_CACHE ETL_HOME ETL_VENV ETL_PY JAVA_HOME PYSPARK_PYTHON PYSPARK_DRIVER_PYTHON PYTHONPATH
# A local Spark binds its driver to loopback (a cluster's executors must reach the driver: there
# SPARK_LOCAL_IP is left to the caller).
case "${SPARK_MASTER:-local}" in
    local*) SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"; export SPARK_LOCAL_IP ;;
esac
