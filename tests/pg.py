"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp dir on a free port.

The server runs for the whole test session; each test that needs a clean database asks
``PostgresServer.create_database`` for a fresh one, which is much faster than a new server.
When the binaries are missing the tests that need them are skipped, unless CI=true, where a
missing server is a broken build and fails loudly.
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
import pytest

SUPERUSER = "shugu"
#: Users that may run the server when the tests run as root (PostgreSQL refuses to run as root).
_UNPRIVILEGED_USERS = ("postgres", "nobody")


def _find_bin_dir() -> Path | None:
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


def _start(bin_dir: Path) -> tuple[PostgresServer, _Runner, Path]:
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


def _stop(bin_dir: Path, runner: _Runner, server: PostgresServer, root: Path) -> None:
    subprocess.run(
        runner.command(
            [str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"],
        ),
        check=False,
        capture_output=True,
    )
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires them", pytrace=False)
        pytest.skip(reason)
    attempts = 3
    for attempt in range(1, attempts + 1):
        try:
            server, runner, root = _start(bin_dir)
            break
        except RuntimeError as exc:
            # The free port may be taken between choosing it and the server binding it.
            if attempt == attempts:
                pytest.fail(f"could not start PostgreSQL: {exc}", pytrace=False)
    try:
        yield server
    finally:
        _stop(bin_dir, runner, server, root)
