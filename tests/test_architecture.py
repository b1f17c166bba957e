"""docs/architecture.md stays true: rooms import only what its table allows, every decision is
in its index, and the project's documents point to nothing outside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "shugu"
EVERYTHING = {
    "domain",
    "config",
    "store",
    "ingest",
    "front",
    "monitor",
    "analytics",
    "region",
    "runtime",
    "api",
    "web",
    "sim",
    "webassets",
    "cli",
}
#: The "may import" column of docs/architecture.md's rooms table.
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "config": set(),
    "webassets": set(),
    "store": {"domain"},
    "ingest": {"domain", "store", "config"},
    "monitor": {"domain", "store"},
    "analytics": {"domain", "store"},
    "region": {"domain", "store", "monitor", "analytics"},
    "front": {"domain", "config", "store", "ingest"},
    "runtime": {"domain", "config", "store", "ingest", "monitor", "analytics", "region", "front"},
    "api": {
        "domain",
        "config",
        "store",
        "ingest",
        "monitor",
        "analytics",
        "region",
        "runtime",
        "webassets",
        "web",
    },
    "web": {
        "domain",
        "config",
        "store",
        "ingest",
        "monitor",
        "analytics",
        "region",
        "runtime",
        "webassets",
        "api",
    },
    "sim": {"domain"},
    "cli": EVERYTHING,
}


def room_of(module: str) -> str:
    """The room of a module path below ``shugu`` (e.g. ``ingest.mqtt.server`` → ingest)."""
    head = module.split(".")[0]
    if head == "__init__":
        return "package"  # the package itself holds only its version, for everyone
    if head in MAY_IMPORT and head != "cli":
        return head
    return "cli"  # cli.py, cli_*.py, demo.py and the package's __init__


def shugu_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module below ``shugu``) of every import of shugu in a file, function-level too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name[6:]) for a in node.names if a.name.startswith("shugu.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "shugu":
                for alias in node.names:
                    submodule = (PACKAGE / alias.name).is_dir() or (
                        PACKAGE / f"{alias.name}.py"
                    ).is_file()
                    out.append((node.lineno, alias.name if submodule else "__init__"))
            elif node.module.startswith("shugu."):
                out.append((node.lineno, node.module[6:]))
    return out


def test_rooms_import_only_what_the_architecture_allows() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = room_of(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for line, module in shugu_imports(path):
            target = room_of(module)
            if target not in (own, "package") and target not in MAY_IMPORT[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {target} ({module})")
    assert not wrong, "imports docs/architecture.md does not allow:\n" + "\n".join(wrong)


def test_the_console_uses_the_apis_scoping_and_services_never_its_routes() -> None:
    """web/ may import api/'s shared pieces (sessions, scope, services), never a route module,
    and only api/app.py (which installs the console) imports web/ from api/."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for line, imported in shugu_imports(path):
            if (
                room_of(module) == "web"
                and imported.startswith("api.")
                and (imported.endswith("_routes"))
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: web imports {imported}")
            if room_of(module) == "api" and room_of(imported) == "web" and module != "api.app":
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_every_decision_is_in_the_index() -> None:
    index = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        p.name for p in sorted((ROOT / "docs" / "decisions").glob("*.md")) if p.name not in index
    ]
    assert not missing, f"add to the Decisions table of docs/architecture.md: {missing}"


def test_documents_point_to_nothing_outside_the_repository() -> None:
    # Spelled in pieces, so that this file does not find itself.
    outside = re.compile(
        r"\b(DESIGN|DOMAIN|STYLE)\.md\b|shared folder|\.\./shared|/work/"
        + "shared|"
        + r'/ "shared"'
    )
    found = []
    files = [ROOT / "README.md", ROOT / "Makefile"]
    for folder, pattern in (
        ("docs", "*.md"),
        ("src", "*.py"),
        ("src", "*.yaml"),
        ("bench", "*.py"),
    ):
        files += sorted((ROOT / folder).rglob(pattern))
    files += sorted((ROOT / "districts").glob("*.yaml")) + sorted((ROOT / "tests").rglob("*.py"))
    for path in files:
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if outside.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "point to docs/architecture.md or docs/domain.md instead:\n" + "\n".join(
        found
    )
