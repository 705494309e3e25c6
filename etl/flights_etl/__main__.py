"""`python -m flights_etl`: run the job once with the configuration from the environment.
`python -m flights_etl land`: the extract only (SOURCE_DIR -> LANDING_DIR/<batch_id>/, e.g. at
image build time); prints the batch id on its last line.

Exit codes: 0 success, 1 error, 2 bad configuration, 3 a data-quality check failed."""
import sys

from .config import ConfigError, load_config, load_land_config

USAGE = "usage: python -m flights_etl [land]"


def land() -> int:
    from . import source
    from .observe import log, setup_logging

    try:
        cfg = load_land_config()
    except ConfigError as e:
        print(f"flights_etl land: {e}", file=sys.stderr)
        return 2
    setup_logging(cfg.log_level, [])
    try:
        landed = source.extract(cfg.source_dir, cfg.landing_dir, cfg.batch_id, log)
    except (source.ExtractError, OSError) as e:
        log.error("land failed: %s", e)
        return 1
    print(landed.batch_id)
    return 0


def main(argv: list[str]) -> int:
    if argv == ["land"]:
        return land()
    if argv:
        print(f"flights_etl: unknown arguments {argv}; {USAGE}", file=sys.stderr)
        return 2
    try:
        cfg = load_config()
    except ConfigError as e:
        print(f"flights_etl: {e}", file=sys.stderr)
        return 2
    from .job import run   # imports pyspark: only once the configuration is known to be good
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
