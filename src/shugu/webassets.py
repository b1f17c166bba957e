"""Browser assets from the npm registry, pinned by version and SHA-512, served by shugu itself.

The console (htmx, ECharts) and the API documentation pages (Swagger UI at ``/docs``, ReDoc at
``/redoc``) run JavaScript that would otherwise come from a CDN: offline, or where the CDN is slow
or blocked, the pages stay blank. shugu serves those files from its own package. Built, minified
files are not kept in the repository: ``python -m shugu.webassets`` (run by ``make install``)
fetches each package's tarball with ``npm pack``, refuses it unless its SHA-512 is the one pinned
here, and unpacks only the listed files into ``shugu/static/vendor/<name>-<version>/`` (git-ignored,
included in the wheel). The version is in the folder name, so the files' URLs change with it and can
be cached for good. Decision 0025 says why.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

VENDOR_DIR: Final = Path(__file__).parent / "static" / "vendor"
#: Written last into a package's folder: the folder is complete and matches this integrity.
_STAMP = ".integrity"


@dataclass(frozen=True)
class NpmAsset:
    name: str
    version: str
    #: The tarball's ``sha512-<base64>``, as the registry's ``dist.integrity`` states it.
    integrity: str
    #: Paths inside the package (under its ``package/`` folder) that shugu serves.
    files: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}"

    def path(self, file: str) -> Path:
        return VENDOR_DIR / self.folder / file

    def url(self, file: str, prefix: str = "/static/vendor") -> str:
        return f"{prefix}/{self.folder}/{file}"


SWAGGER_UI: Final = NpmAsset(
    "swagger-ui-dist",
    "5.35.0",
    "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
    (
        "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.LICENSE.txt",
        "swagger-ui.css",
        "favicon-32x32.png",
        "LICENSE",
        "NOTICE",
    ),
)
REDOC: Final = NpmAsset(
    "redoc",
    "2.5.4",
    "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
    ("bundles/redoc.standalone.js", "bundles/redoc.standalone.js.LICENSE.txt", "LICENSE"),
)
#: The console's charts (Apache ECharts) and its partial page updates (htmx 2: version 4 changes
#: the attribute and event model the console's templates are written against).
ECHARTS: Final = NpmAsset(
    "echarts",
    "6.1.0",
    "sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA==",
    ("dist/echarts.min.js", "LICENSE", "NOTICE"),
)
HTMX: Final = NpmAsset(
    "htmx.org",
    "2.0.11",
    "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
    ("dist/htmx.min.js", "LICENSE"),
)
ASSETS: Final = (SWAGGER_UI, REDOC, ECHARTS, HTMX)


class AssetError(Exception):
    """A package could not be fetched, or is not what was pinned."""


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def check_integrity(asset: NpmAsset, tarball: bytes) -> None:
    found = integrity_of(tarball)
    if found != asset.integrity:
        raise AssetError(
            f"{asset.name}@{asset.version}: the tarball's integrity is {found}, not the pinned "
            f"{asset.integrity}; refusing it (a changed or substituted package)"
        )


def unpack(asset: NpmAsset, tarball: bytes, into: Path) -> None:
    """Write the asset's listed files from ``tarball`` (already checked) under ``into``."""
    wanted = {f"package/{file}": file for file in asset.files}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            file = wanted.pop(member.name, None)
            if file is None:
                continue
            source = archive.extractfile(member) if member.isfile() else None
            if source is None:
                raise AssetError(f"{asset.name}@{asset.version}: {file} is not a regular file")
            target = into.joinpath(*PurePosixPath(file).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
    if wanted:
        missing = ", ".join(sorted(wanted.values()))
        raise AssetError(f"{asset.name}@{asset.version} has no {missing}")


def is_installed(asset: NpmAsset) -> bool:
    stamp = VENDOR_DIR / asset.folder / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == asset.integrity


def npm_pack(asset: NpmAsset, workdir: Path) -> bytes:
    """The package's tarball, fetched from the npm registry by npm's own client."""
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is needed to fetch the API documentation's assets (Debian: npm)")
    spec = f"{asset.name}@{asset.version}"
    done = subprocess.run(
        [npm, "pack", "--silent", "--pack-destination", str(workdir), spec],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssetError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
    return (workdir / done.stdout.strip().splitlines()[-1]).read_bytes()


def install(asset: NpmAsset) -> bool:
    """Fetch, check and unpack ``asset`` unless it is there already; True if it was fetched."""
    if is_installed(asset):
        return False
    folder = VENDOR_DIR / asset.folder
    with tempfile.TemporaryDirectory() as work:
        tarball = npm_pack(asset, Path(work))
        check_integrity(asset, tarball)
        staging = Path(work) / "unpacked"
        unpack(asset, tarball, staging)
        (staging / _STAMP).write_text(asset.integrity + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), folder)
    return True


def prune() -> None:
    """Remove folders of versions no longer pinned, so that the wheel carries only the pins."""
    if not VENDOR_DIR.is_dir():
        return
    pinned = {asset.folder for asset in ASSETS}
    for folder in VENDOR_DIR.iterdir():
        if folder.is_dir() and folder.name not in pinned:
            shutil.rmtree(folder)


def main() -> int:
    try:
        for asset in ASSETS:
            fetched = install(asset)
            state = "fetched and verified" if fetched else "already there"
            print(f"{asset.name}@{asset.version}: {state}")
        prune()
    except (AssetError, OSError, tarfile.TarError) as exc:
        print(f"shugu web assets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
