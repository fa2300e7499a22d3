"""The packages' layers: ``search`` (the engine and its store) imports neither ``indexer``
nor ``web``; ``indexer`` does not import ``web`` (its CLI, which starts the service, aside).
What the engine needs of the indexer's models is a protocol in ``search.embedding``."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported(path: Path) -> set[str]:
    """Top-level package names a module imports, at any depth (lazy imports count)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package, forbidden, allowed", [
    ("search", {"indexer", "web"}, set()),
    ("indexer", {"web"}, {"cli.py"}),
])
def test_a_package_does_not_import_the_layers_above_it(package, forbidden, allowed):
    bad = {str(p.relative_to(ROOT)): sorted(imported(p) & forbidden)
           for p in (ROOT / package).rglob("*.py") if p.name not in allowed and imported(p) & forbidden}
    assert bad == {}


def test_the_check_sees_lazy_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from indexer.images import x\n    import web.api\n")
    assert imported(f) == {"indexer", "web"}


def test_the_service_builds_its_engine_at_the_composition_root_not_through_the_cli():
    # web -> indexer.cli -> web was a cycle; both now build the engine in indexer.compose
    def names(node: ast.AST) -> list[str]:
        if isinstance(node, ast.ImportFrom) and node.module:
            return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        return [a.name for a in node.names] if isinstance(node, ast.Import) else []
    users = [str(p.relative_to(ROOT)) for p in (ROOT / "web").rglob("*.py")
             if any(n == "indexer.cli" or n.startswith("indexer.cli.")
                    for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))) for n in names(node))]
    assert users == []


def test_index_settings_are_read_once_from_the_environment(tmp_path, monkeypatch):
    from search.settings import Settings, SettingsError, open_store
    monkeypatch.setenv("DUPE_ANN_MIN", "500")
    store = open_store(Settings.from_env(index_dir=str(tmp_path / "i")))
    assert store.ann_min == 500
    store.close()
    monkeypatch.setenv("DUPE_ANN_MIN", "lots")
    with pytest.raises(SettingsError, match="DUPE_ANN_MIN must be a whole number"):
        Settings.from_env()
