"""The layout keeps its promises: no import cycle between the packages of `bot/` and
`storage/`, delivery knows nothing of Slack, and no module grows past a screenful or two.

The import graph is read from the source with `ast` (every import, wherever it stands,
type-only ones included: a dependency is a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 450
# The vendored spec is data, not code.
NOT_CODE = {"bot/front/front-channel-api.openapi.json"}


def modules() -> Iterator[tuple[str, Path]]:
    for top in ("bot", "storage"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def unit(module: str) -> str:
    """The package a module counts in: `bot.features.calls`, `bot.delivery`, `storage`,
    or a top-level module of `bot` (`bot.server`) on its own."""
    parts = module.split(".")
    if parts[0] == "storage":
        return "storage"
    if len(parts) >= 3 and parts[1] == "features":
        return ".".join(parts[:3])
    if len(parts) >= 2:
        return ".".join(parts[:2])
    return module


def imported(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.add(target)
            # `from bot.features import calls` imports the package bot.features.calls
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in ("bot", "storage")}


def graph() -> dict[str, set[str]]:
    known = {name for name, _ in modules()}
    edges: dict[str, set[str]] = {}
    for name, path in modules():
        src = unit(name)
        for target in imported(path, name):
            while target and target not in known:  # an attribute, not a module
                target = target.rpartition(".")[0]
            if target and unit(target) != src:
                edges.setdefault(src, set()).add(unit(target))
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    seen: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in stack:
            return [*stack[stack.index(node) :], node]
        if node in seen:
            return None
        seen.add(node)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        stack.pop()
        return None

    for start in sorted(edges):
        found = visit(start)
        if found:
            return found
    return None


def test_no_cycle_between_packages() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("bot.delivery", ("bot.slack", "bot.features", "bot.server", "bot.web")),
        ("bot.core", ("bot.slack", "bot.features", "bot.delivery", "bot.server")),
        ("bot.slack", ("bot.features", "bot.server")),
        ("storage", ("bot",)),
    ],
)
def test_lower_layers_do_not_import_upwards(package: str, forbidden: tuple[str, ...]) -> None:
    edges = graph()
    bad = sorted(
        target
        for source, targets in edges.items()
        if unit(source) == package
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    )
    assert not bad, f"{package} imports {bad}"


def test_features_meet_only_through_their_packages() -> None:
    """Features may use each other (admin shows alerts' subcommand) but never in a loop:
    covered by the cycle test; here, each feature exposes register and register_hooks."""
    import importlib

    from bot.server import FEATURES

    names = sorted(unit(f.__name__) for f in FEATURES)
    found = sorted(
        p.name for p in (ROOT / "bot" / "features").iterdir() if (p / "__init__.py").exists()
    )
    assert names == [f"bot.features.{n}" for n in found]
    for feature in FEATURES:
        module = importlib.import_module(feature.__name__)
        assert callable(module.register) and callable(module.register_hooks)
        assert callable(module.register_posts)


def test_no_module_is_too_long() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for _, path in modules()
        if str(path.relative_to(ROOT)) not in NOT_CODE
        and "migrations" not in path.parts
        and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_package_says_what_belongs_in_it() -> None:
    missing = [
        str(init.relative_to(ROOT))
        for top in ("bot", "storage")
        for init in (ROOT / top).rglob("__init__.py")
        if "migrations" not in init.parts and not ast.get_docstring(ast.parse(init.read_text()))
    ]
    assert not missing, f"packages without a docstring: {missing}"
