"""A private PostgreSQL server: initdb + pg_ctl in a temp dir on a free port, for the tests
(``tests/pg.py``) and the cluster benchmarks and fault runs.

:func:`started_postgres` starts one (retried when the free port is taken before the server binds
it); :meth:`RunningPostgres.stop` stops it and removes its files.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SUPERUSER = "shugu"
#: Users that may run the server when the tests run as root (PostgreSQL refuses to run as root).
_UNPRIVILEGED_USERS = ("postgres", "nobody")


def find_bin_dir() -> Path | None:
    on_path = shutil.which("initdb")
    candidates = [Path(os.path.realpath(on_path)).parent] if on_path else []
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(p) for p in versions]
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class _Runner:
    """Runs the server's commands, as an unprivileged user when the tests run as root
    (PostgreSQL refuses to run as root)."""

    user: str | None

    @staticmethod
    def for_current_process() -> _Runner:
        if os.geteuid() != 0:
            return _Runner(None)
        for user in _UNPRIVILEGED_USERS:
            with contextlib.suppress(KeyError):
                pwd.getpwnam(user)
                return _Runner(user)
        raise RuntimeError("running as root and no unprivileged user (postgres, nobody) exists")

    def command(self, args: list[str]) -> list[str]:
        if self.user is None:
            return args
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.user, "--", *args]
        return ["su", "-s", "/bin/sh", self.user, "-c", shlex.join(args)]

    def give(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class PostgresServer:
    host: str
    port: int
    data_dir: Path
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_postgres(bin_dir: Path) -> tuple[PostgresServer, _Runner, Path]:
    runner = _Runner.for_current_process()
    # Not under pytest's tmp_path: its parents are private to root, out of the server user's reach.
    root = Path(tempfile.mkdtemp(prefix="shugu-pg-"))
    data_dir = root / "data"
    runner.give(root)
    port = _free_port()
    environment = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    try:
        subprocess.run(
            runner.command(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
            ),
            check=True,
            capture_output=True,
            env=environment,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            # Durability is pointless for a database deleted after the tests; speed is not.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            runner.command(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data_dir),
                    "-o",
                    options,
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "start",
                ],
            ),
            check=True,
            capture_output=True,
            env=environment,
        )
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        details = (exc.stderr or b"").decode(errors="replace")
        if log.exists():
            details += log.read_text(errors="replace")
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"{shlex.join(exc.cmd)} failed: {details}") from exc
    return PostgresServer("127.0.0.1", port, data_dir), runner, root


def stop_postgres(bin_dir: Path, runner: _Runner, server: PostgresServer, root: Path) -> None:
    subprocess.run(
        runner.command(
            [str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"],
        ),
        check=False,
        capture_output=True,
    )
    shutil.rmtree(root, ignore_errors=True)


#: What to install when the binaries are missing.
MISSING = "PostgreSQL binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql"


@dataclass
class RunningPostgres:
    """A started server and what it takes to stop it."""

    server: PostgresServer
    bin_dir: Path
    runner: _Runner
    root: Path

    def stop(self) -> None:
        stop_postgres(self.bin_dir, self.runner, self.server, self.root)


def started_postgres(bin_dir: Path, attempts: int = 3) -> RunningPostgres:
    """A new server on a free port; retried when the port was taken before the server bound it."""
    for attempt in range(1, attempts + 1):
        try:
            server, runner, root = start_postgres(bin_dir)
            return RunningPostgres(server, bin_dir, runner, root)
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
