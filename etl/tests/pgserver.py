"""A throwaway PostgreSQL 15 server (Debian's binaries) for the tests and the bench.

initdb + pg_ctl in a temp dir, run as the unprivileged `postgres` user when we are root (as
ourselves otherwise), listening on a unix socket in that dir only (no TCP port, so nothing can
clash), password authentication (scram-sha-256). `stop()` removes everything it made."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile

PG_BIN = os.environ.get("ETL_PG_BIN", "/usr/lib/postgresql/15/bin")


class PgServerError(Exception):
    pass


class PgServer:
    def __init__(self, settings: dict[str, str] | None = None):
        if not os.path.isfile(os.path.join(PG_BIN, "pg_ctl")):
            raise PgServerError(f"PostgreSQL 15 server binaries not found in {PG_BIN}: run etl/setup.sh "
                                "(it installs Debian's postgresql-15)")
        self.as_user = "postgres" if os.geteuid() == 0 else None
        self.base = tempfile.mkdtemp(prefix="swarm-etl-pg-")
        os.chmod(self.base, 0o755)
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        os.mkdir(self.sock)
        self.port = 5432
        self.superpass = secrets.token_hex(16)
        self.settings = {"listen_addresses": "''", "unix_socket_directories": f"'{self.sock}'",
                         "max_connections": "20", "shared_buffers": "128MB", "fsync": "off",
                         "synchronous_commit": "off", "full_page_writes": "off", "wal_level": "minimal",
                         "max_wal_senders": "0", "max_wal_size": "2GB"}
        self.settings.update(settings or {})
        self.started = False
        if self.as_user:
            shutil.chown(self.sock, self.as_user)

    def _run(self, *cmd: str, input: str | None = None) -> str:
        full = (["runuser", "-u", self.as_user, "--"] if self.as_user else []) + list(cmd)
        p = subprocess.run(full, input=input, capture_output=True, text=True, cwd=self.base)
        if p.returncode != 0:
            raise PgServerError(f"{' '.join(cmd[:2])} failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
        return p.stdout

    def start(self) -> "PgServer":
        pwfile = os.path.join(self.base, "superpass")
        with open(pwfile, "w") as f:
            f.write(self.superpass + "\n")
        if self.as_user:
            shutil.chown(pwfile, self.as_user)
            shutil.chown(self.base, self.as_user)
        self._run(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--pwfile", pwfile, "-E", "UTF8",
                  "--no-locale", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--no-sync")
        os.remove(pwfile)
        opts = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.base, "server.log"), "-w",
                  "-t", "60", "-o", opts, "start")
        self.started = True
        return self

    def superuser_conninfo(self, dbname: str = "postgres") -> dict:
        return {"host": self.sock, "port": self.port, "user": "postgres", "password": self.superpass, "dbname": dbname}

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        env = dict(os.environ, PGPASSWORD=self.superpass)
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-p", str(self.port),
                            "-U", "postgres", "-d", dbname, "-At", "-c", sql], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise PgServerError(f"psql: {p.stderr.strip()}")
        return p.stdout

    def create_database(self, dbname: str, owner: str, password: str) -> dict:
        """A login role with a password and a database it owns; returns psycopg keywords for it."""
        self.psql(f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'")
        self.psql(f"CREATE DATABASE {dbname} OWNER {owner}")
        return {"host": self.sock, "port": self.port, "user": owner, "password": password, "dbname": dbname}

    def create_least_privilege_database(self, dbname: str, role: str, password: str, schema: str,
                                        analyst: str, analyst_password: str) -> tuple[dict, dict]:
        """A database and its schema owned by another role (`<dbname>_owner`), a login role for the
        job with only CONNECT and TEMPORARY on the database and USAGE and CREATE on the schema, and
        an analyst that gets SELECT on whatever the job's role creates there (default privileges).
        Returns psycopg keywords for (the job's role, the analyst)."""
        owner = dbname + "_owner"
        self.psql(f"CREATE ROLE {owner} NOLOGIN")
        self.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        self.psql(f"CREATE ROLE {analyst} LOGIN PASSWORD '{analyst_password}'")
        self.psql(f"CREATE DATABASE {dbname} OWNER {owner}")
        self.psql(f"REVOKE ALL ON DATABASE {dbname} FROM PUBLIC; "
                  f"GRANT CONNECT, TEMPORARY ON DATABASE {dbname} TO {role}; "
                  f"GRANT CONNECT ON DATABASE {dbname} TO {analyst}")
        self.psql(f"REVOKE ALL ON SCHEMA public FROM PUBLIC; "
                  f"CREATE SCHEMA {schema} AUTHORIZATION {owner}; "
                  f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}; "
                  f"GRANT USAGE ON SCHEMA {schema} TO {analyst}; "
                  f"ALTER DEFAULT PRIVILEGES FOR ROLE {role} IN SCHEMA {schema} GRANT SELECT ON TABLES TO {analyst}",
                  dbname=dbname)
        return ({"host": self.sock, "port": self.port, "user": role, "password": password, "dbname": dbname},
                {"host": self.sock, "port": self.port, "user": analyst, "password": analyst_password, "dbname": dbname})

    def url(self, dbname: str, user: str) -> str:
        """A password-less URL (the password goes through WAREHOUSE_PASSWORD_FILE)."""
        return f"postgresql://{user}@/{dbname}?host={self.sock}&port={self.port}"

    def stop(self) -> None:
        try:
            if self.started:
                self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
