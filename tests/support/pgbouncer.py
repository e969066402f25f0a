"""A real PgBouncer in transaction mode in front of a PostgreSQL database: for the pooler test and bench/load.py."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def installed() -> bool:
    return Path(PGBOUNCER).exists()


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_as(host: str) -> str:
    """PgBouncer refuses to run as root: nobody, or the owner of the server's socket directory when it connects
    through one (an embedded server's directory admits only its owner)."""
    if host and host.startswith("/"):
        return pwd.getpwuid(os.stat(host).st_uid).pw_name
    return "nobody"


@contextmanager
def pgbouncer(*, host: str, port: int | str, dbname: str, users, pool_size: int, alias: str = "pooled"):
    """Run PgBouncer (transaction pooling, `pool_size` server connections per user) until the block ends; yields
    its port. Clients connect to database `alias` at 127.0.0.1 with any of `users` (trusted, as the server is)."""
    listen = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="oms-pgbouncer-"))
    workdir.chmod(0o755)  # run as another account (see _run_as), PgBouncer reads its files here
    (workdir / "users.txt").write_text("".join(f'"{user}" ""\n' for user in sorted(set(users))))
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{alias} = host={host or '127.0.0.1'} port={port or 5432} dbname={dbname}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 1000\nserver_reset_query =\nignore_startup_parameters = extra_float_digits,options\n"
        f"admin_users = {sorted(set(users))[0]}\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (workdir / name).chmod(0o644)
    command = [PGBOUNCER, *(["-u", _run_as(host)] if os.geteuid() == 0 else []), str(workdir / "pgbouncer.ini")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(
                    host="127.0.0.1", port=listen, user=sorted(set(users))[0], dbname=alias, connect_timeout=1
                ).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(f"pgbouncer did not start: {process.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        yield listen
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def server_connections(port: int, user: str, alias: str = "pooled") -> int:
    """Server connections PgBouncer holds for `alias` right now (its admin console's SHOW SERVERS)."""
    with psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="pgbouncer", autocommit=True) as console:
        cursor = psycopg.ClientCursor(console)  # the console speaks the simple query protocol only
        cursor.execute("SHOW SERVERS")
        database = [column.name for column in cursor.description].index("database")
        return sum(1 for row in cursor.fetchall() if row[database] == alias)
