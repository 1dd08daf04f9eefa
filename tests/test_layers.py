"""The house has three floors and imports run only downward (README, Layout).

- ``bff.ground`` (wechat, store, config, metrics, services, errors) imports only ground;
- ``bff.domain`` (one module per rule) imports domain and ground;
- ``bff.edges.<audience>`` imports its own package, the shared edge plumbing
  (``bff.edges.http``), the domain and the ground — never another audience;
- ``bff.edges.http`` imports domain and ground, never an audience;
- ``bff.sandbox`` stands beside the house and imports nothing from it but the shared
  vocabulary ``bff.vocabulary`` (the sandbox's accounts, which sandbox mode uses by default),
  which itself imports nothing from ``bff`` and may be imported from any floor;
- the composition root (``bff``, ``bff.cli``, ``bff.dev``, ``bff.check``) may import anything.

Imports inside ``if TYPE_CHECKING:`` count too: a type that lives upstairs is a design smell.
"""

from __future__ import annotations

import ast
from pathlib import Path

BFF = Path(__file__).resolve().parents[1] / "bff"
ROOT_MODULES = {"bff", "bff.cli", "bff.dev", "bff.check"}
VOCABULARY = "bff.vocabulary"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(BFF.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "bff":  # from bff import x: x is a module or a name of the root
                found.update(f"bff.{a.name}" if (BFF / a.name).exists()
                             or (BFF / f"{a.name}.py").exists() else "bff"
                             for a in node.names)
            elif target.startswith("bff."):
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bff"))
    return found


def floor(module: str) -> str:
    if module in ROOT_MODULES:
        return "root"
    if module == VOCABULARY:
        return "vocabulary"
    parts = module.split(".")
    if parts[1] in ("ground", "domain", "sandbox"):
        return parts[1]
    if parts[1] == "edges":
        return "edges.http" if len(parts) > 2 and parts[2] == "http" else "edges"
    return "loose"


def allowed(importer: str, imported: str) -> bool:
    src, dst = floor(importer), floor(imported)
    if src == "root" or dst == "vocabulary":
        return src != "vocabulary"
    if src == "vocabulary":
        return False
    if src == "sandbox":
        return dst == "sandbox"
    if src == "ground":
        return dst == "ground"
    if src == "domain":
        return dst in ("domain", "ground")
    if src == "edges.http":
        return dst in ("edges.http", "domain", "ground")
    if src == "edges":
        own = ".".join(importer.split(".")[:3])
        return dst in ("edges.http", "domain", "ground") or imported == own \
            or imported.startswith(own + ".")
    return False


def violations() -> list[str]:
    found = []
    for path in sorted(BFF.rglob("*.py")):
        importer = _module_name(path)
        for imported in sorted(_imports(path)):
            if not allowed(importer, imported):
                found.append(f"{importer} -> {imported}")
    return found


def test_every_module_lives_on_a_floor() -> None:
    loose = [_module_name(p) for p in BFF.rglob("*.py") if floor(_module_name(p)) == "loose"]
    assert loose == [], "modules outside the three floors: " + ", ".join(loose)


def test_imports_run_only_downward() -> None:
    assert violations() == []


def test_the_rule_catches_an_import_that_goes_up() -> None:
    assert not allowed("bff.ground.store", "bff.domain.identity")
    assert not allowed("bff.domain.identity", "bff.edges.http.errors")
    assert not allowed("bff.edges.admin.cli", "bff.edges.membership.resources")
    assert not allowed("bff.edges.http.quota", "bff.edges.cards.schemas")
    assert not allowed("bff.sandbox.app", "bff.ground.config")
    assert not allowed("bff.vocabulary", "bff.ground.config")
    assert allowed("bff.sandbox.server", "bff.vocabulary")
    assert allowed("bff.edges.admin.cli", "bff.edges.admin.cli_support")
    assert allowed("bff.edges.cards.resources", "bff.domain.cards.signing")
