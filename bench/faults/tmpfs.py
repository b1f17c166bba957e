"""A small filesystem of its own for a data directory, so that it can really run full.

A tmpfs of a fixed size is mounted on an empty folder: filling it with a ballast file leaves
the server's writes failing with ENOSPC exactly as on a full disk, and deleting the ballast gives
the space back. Mounting needs root (CAP_SYS_ADMIN); :class:`NoPrivateDisk` says why it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NoPrivateDisk(RuntimeError):
    """This machine does not let us mount a filesystem (not root, or no mount permission)."""


@contextmanager
def private_disk(mountpoint: Path, size_mib: int, *, read_only: bool = False) -> Iterator[Path]:
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        raise NoPrivateDisk("mounting a tmpfs needs root and the mount command")
    mountpoint.mkdir(parents=True, exist_ok=True)
    options = f"size={size_mib}m,mode=0755" + (",ro" if read_only else "")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", options, "shugu-faults", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise NoPrivateDisk(f"mount -t tmpfs failed: {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def fill(disk: Path, name: str = "ballast") -> int:
    """Write a ballast file until the filesystem has no room left; returns its size."""
    fd = os.open(disk / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    written = 0
    size = 1 << 20
    try:
        while True:
            try:
                written += os.write(fd, b"\0" * size)
            except OSError:
                if size == 1:
                    return written
                size = max(1, size // 16)  # less than a chunk is left: take it in smaller bites
    finally:
        os.close(fd)


def free_bytes(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize


def release(disk: Path, name: str = "ballast") -> None:
    (disk / name).unlink(missing_ok=True)
