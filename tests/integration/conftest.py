"""Databases for integration tests: a SQLite file per test, a throwaway PostgreSQL per session.

The PostgreSQL server comes from the Debian binaries (initdb, pg_ctl), listens on 127.0.0.1 on
a free port with trust auth and fsync off, and is stopped and deleted when the session ends.
Each test that asks for `journal_url` on PostgreSQL gets a fresh database on that server.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

SKIP_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: "
    "`apt-get install postgresql`, then rerun pytest"
)
_databases = itertools.count(1)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet, in a directory that does not exist yet."""
    return f"sqlite:///{tmp_path / 'journals' / 'journal.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A running throwaway PostgreSQL server's `postgres` database."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip(SKIP_HINT)
    base = Path(tempfile.mkdtemp(prefix="aitrader-pg-"))
    as_server_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the Debian `postgres` user
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            pytest.skip("running as root and no `postgres` user: `apt-get install postgresql`")
        os.chown(base, account.pw_uid, account.pw_gid)
        as_server_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    try:
        _run([*as_server_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
              "-A", "trust", "-E", "UTF8", "--no-sync"])
        port = _start(as_server_user, bindir, base, data)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_server_user, str(bindir / "pg_ctl"), "-D", str(data),
                            "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def journal_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url
    server: str = request.getfixturevalue("postgres_url")
    name = f"journal_{next(_databases)}"
    dsn = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    return server.rsplit("/", 1)[0] + f"/{name}"


def _postgres_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                       key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                       else 0, reverse=True)
    for bindir in map(Path, installed):
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _start(as_server_user: list[str], bindir: Path, base: Path, data: Path) -> int:
    """Start the server on a free loopback port; retry if another process takes the port."""
    for _ in range(3):
        port = _free_port()
        options = (f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        started = subprocess.run(
            [*as_server_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
             "-o", options, "-w", "-t", "30", "start"],
            capture_output=True, text=True, check=False,
        )
        if started.returncode == 0:
            return port
    log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
    pytest.fail(f"PostgreSQL did not start: {started.stderr.strip()} {log[-2000:]}")


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
