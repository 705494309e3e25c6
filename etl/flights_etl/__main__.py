"""`python -m flights_etl`: run the job once with the configuration from the environment.

Exit codes: 0 success, 1 error, 2 bad configuration, 3 a data-quality check failed."""
import sys

from .config import ConfigError, load_config


def main() -> int:
    try:
        cfg = load_config()
    except ConfigError as e:
        print(f"flights_etl: {e}", file=sys.stderr)
        return 2
    from .job import run   # imports pyspark: only once the configuration is known to be good
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main())
