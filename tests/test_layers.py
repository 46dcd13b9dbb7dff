"""The package's three layers, read from the source (AST), not from what happens to be
imported.

library (bottom) ← experiments ← figures (top). A module may import from its own layer
or a lower one; no import cycle between advsub modules; no private name (leading
underscore) imported from, or read off, another advsub module. Imports inside functions
count: a lazy import is still a dependency. The one exemption is a module-level
``__getattr__``: a compatibility shim that loads a name under its old path on first use
(``advsub.attacks.attack_sample``, which moved up to the experiments); its imports are
left out of the layer and cycle checks, and every name it serves must resolve.

The library and the experiments also import with matplotlib and ipywidgets blocked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import advsub

ROOT = Path(advsub.__file__).parent
LAYER_NAMES = ("library", "experiments", "figures")
GUI = ("matplotlib", "ipywidgets")


# --- reading the package --------------------------------------------------------------
def package_sources(root: Path = ROOT) -> dict[str, str]:
    """{dotted module name: source} for every .py file under advsub/."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path.read_text(encoding="utf-8")
    return out


def _is_package(name: str, sources: dict[str, str], root: Path = ROOT) -> bool:
    return (
        (root.parent / Path(*name.split(".")) / "__init__.py").exists()
        if root
        else False
    )


def imports(name: str, source: str, modules: set[str], packages: set[str]):
    """Yield (target module, imported names, line, in_shim) for every import of an
    advsub module.

    ``from .x import y`` names the submodule ``x.y`` when it exists, else the module
    ``x``. ``in_shim`` marks imports inside a module-level ``__getattr__``.
    """
    tree = ast.parse(source)
    package = name if name in packages else name.rpartition(".")[0]
    shim_nodes = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            shim_nodes |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        in_shim = id(node) in shim_nodes
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("advsub",) + GUI:
                    yield alias.name, [], node.lineno, in_shim
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] not in ("advsub",) + GUI:
                continue
            names = [a.name for a in node.names]
            subs = [n for n in names if f"{target}.{n}" in modules]
            for n in subs:
                yield f"{target}.{n}", [], node.lineno, in_shim
            rest = [n for n in names if n not in subs]
            if rest or not subs:
                yield target, rest, node.lineno, in_shim


def layer_of(name: str, compat: dict[str, str]) -> int:
    """0 library, 1 experiments, 2 figures; an old path sits in the layer of what it
    re-exports."""
    parts = name.split(".")
    if (
        len(parts) == 1
    ):  # the package namespace: library and experiments (figures only lazily)
        return 1
    if parts[1] == "figures":
        return 2
    if parts[1] == "experiments":
        return 1
    if parts[1] in compat:
        return max(
            layer_of(f"advsub.{t.strip()}", {}) for t in compat[parts[1]].split(",")
        )
    return 0


def check(
    sources: dict[str, str], compat: dict[str, str], packages: set[str]
) -> list[str]:
    """Every violation of the layer rules, as readable lines (empty when the package is
    clean)."""
    modules = set(sources)
    problems, graph = [], {m: set() for m in modules}
    for name, source in sources.items():
        tree = ast.parse(source)
        module_aliases = {}
        for target, names, line, in_shim in imports(name, source, modules, packages):
            root = target.split(".")[0]
            where = f"{name}:{line}"
            if root in GUI:
                if layer_of(name, compat) < 2:
                    problems.append(f"{where} imports {target} below the figures layer")
                continue
            if target not in modules:
                problems.append(
                    f"{where} imports {target}, which is not a module of the package"
                )
                continue
            if layer_of(target, compat) > layer_of(name, compat) and not in_shim:
                problems.append(
                    f"{where} imports {target} from the "
                    f"{LAYER_NAMES[layer_of(target, compat)]} layer into the "
                    f"{LAYER_NAMES[layer_of(name, compat)]} layer (upward)"
                )
            for n in names:
                if n.startswith("_") and not n.startswith("__") and target != name:
                    problems.append(
                        f"{where} imports the private name {n} from {target}"
                    )
            if not names:
                module_aliases[target.rpartition(".")[2]] = target
            if not in_shim and target != name:
                graph[name].add(target)
        # attribute access of a private name on an imported advsub module:
        # attacks._attack(...)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                problems.append(
                    f"{name}:{node.lineno} reads the private name {node.attr} "
                    f"of {module_aliases[node.value.id]}"
                )
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp) + [sorted(comp)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _packages(sources):
    return {m for m in sources if _is_package(m, sources)}


# --- the package itself ---------------------------------------------------------------
def test_no_upward_import_no_cycle_no_private_import():
    sources = package_sources()
    problems = check(sources, advsub.__compat__, _packages(sources))
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_declared_layer():
    """``advsub.__layers__`` (the API page's order) lists every module that is not an
    old path."""
    declared = {f"advsub.{m}" for layer in advsub.__layers__.values() for m in layer}
    sources = package_sources()
    top_level = {
        m for m in sources if m.count(".") == 1 and not m.split(".")[1].startswith("_")
    }
    subpackages = {"advsub.experiments", "advsub.figures"}
    compat = {f"advsub.{m}" for m in advsub.__compat__}
    in_subpackages = {
        m
        for m in sources
        if m.split(".")[1:2] in (["experiments"], ["figures"])
        and m not in subpackages
        and not m.rpartition(".")[2].startswith("_")
    }
    missing = (top_level | in_subpackages) - declared - compat - subpackages
    assert not missing, f"modules in no layer of advsub.__layers__: {sorted(missing)}"
    for name in declared:
        expected = [
            layer
            for layer, mods in advsub.__layers__.items()
            if name[len("advsub.") :] in mods
        ][0]
        assert LAYER_NAMES[layer_of(name, advsub.__compat__)] == expected, name


@pytest.mark.parametrize(
    "old, new",
    [
        ("plotting", "figures.plotting"),
        ("widgets", "figures.widgets"),
        ("toydata", "experiments.toydata"),
        ("regularisation", "experiments.regularisation"),
        ("crosscheck", "experiments.crosscheck"),
    ],
)
def test_old_paths_are_the_new_modules(old, new):
    import importlib

    assert importlib.import_module(f"advsub.{old}") is importlib.import_module(
        f"advsub.{new}"
    )


def test_library_and_experiments_import_with_matplotlib_and_ipywidgets_blocked():
    sources = package_sources()
    names = sorted(m for m in sources if layer_of(m, advsub.__compat__) < 2)
    code = textwrap.dedent(f"""
        import importlib, sys
        sys.modules['matplotlib'] = None
        sys.modules['ipywidgets'] = None
        for name in {names!r}:
            importlib.import_module(name)
        import advsub
        loaded = [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]
        assert 'matplotlib' not in loaded
        names = ('Subspace', 'train', 'attack_experiment', 'gradient_law_experiment',
                 'library_attack')
        for name in names:
            getattr(advsub, name)
        try:
            advsub.plotting
        except ImportError:
            pass
        else:
            raise SystemExit('advsub.plotting imported with matplotlib blocked')
        print('ok', len({names!r}))
    """)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


# --- the checker catches what it should -----------------------------------------------
FAKE_COMPAT = {"oldplot": "figures.plot"}
FAKE_PACKAGES = {"advsub", "advsub.experiments", "advsub.figures"}


def _fake(**modules):
    base = {
        "advsub": "",
        "advsub.experiments": "",
        "advsub.figures": "",
        "advsub.geometry": "X = 1\n",
        "advsub.experiments.run": "from ..geometry import X\n",
        "advsub.figures.plot": "import matplotlib\nfrom ..experiments.run import X\n",
        "advsub.oldplot": "from .figures import plot\n",
    }
    base.update({k.replace("__", "."): textwrap.dedent(v) for k, v in modules.items()})
    return base


def test_checker_accepts_a_clean_package():
    assert check(_fake(), FAKE_COMPAT, FAKE_PACKAGES) == []


@pytest.mark.parametrize(
    "modules, expected",
    [
        (dict(advsub__geometry="from .experiments.run import X\n"), "upward"),
        (
            dict(advsub__experiments__run="def f():\n    from ..figures import plot\n"),
            "upward",
        ),
        (dict(advsub__experiments__run="from ..oldplot import X\n"), "upward"),
        (
            dict(advsub__geometry="import matplotlib.pyplot as plt\n"),
            "below the figures layer",
        ),
        (
            dict(advsub__experiments__run="def f():\n    import ipywidgets\n"),
            "below the figures layer",
        ),
        (
            dict(
                advsub__geometry="def f():\n    from .network import Y\n",
                advsub__network="from .geometry import X\n",
            ),
            "import cycle",
        ),
        (
            dict(advsub__experiments__run="from ..geometry import _helper\n"),
            "private name _helper",
        ),
        (
            dict(
                advsub__experiments__run="from .. import geometry\ngeometry._helper()\n"
            ),
            "private name _helper",
        ),
        (dict(advsub__experiments__run="from ..nowhere import X\n"), "not a module"),
    ],
)
def test_checker_catches(modules, expected):
    problems = check(_fake(**modules), FAKE_COMPAT, FAKE_PACKAGES)
    assert any(expected in p for p in problems), problems


def test_checker_exempts_compat_shims():
    shim = "def __getattr__(name):\n    from .network import Y\n    return Y\n"
    modules = _fake(advsub__geometry=shim, advsub__network="from .geometry import X\n")
    assert check(modules, FAKE_COMPAT, FAKE_PACKAGES) == []
    upward = _fake(
        advsub__geometry="def __getattr__(name):\n    from .experiments import run\n"
    )
    assert check(upward, FAKE_COMPAT, FAKE_PACKAGES) == []
    hidden = _fake(advsub__geometry="def helper():\n    from .experiments import run\n")
    assert any("upward" in p for p in check(hidden, FAKE_COMPAT, FAKE_PACKAGES))


@pytest.mark.parametrize(
    "module, names",
    [
        (
            "attacks",
            ["AttackSample", "attack_sample", "attack_experiment", "attack_sweep"],
        ),
        ("deep", ["train_deep"]),
    ],
)
def test_old_names_served_by_shims_resolve(module, names):
    import importlib

    mod = importlib.import_module(f"advsub.{module}")
    for name in names:
        assert getattr(mod, name) is getattr(advsub, name)
