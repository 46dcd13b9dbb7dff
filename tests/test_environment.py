"""environment.yml (conda) and pyproject.toml (pip) list the same dependencies; torch is pinned to the CPU wheel."""
from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT


def _pip_section():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml must have one pip: section"
    return [r for r in pip[0]["pip"] if r != "-e ."]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_lists_every_pyproject_dependency_with_the_same_specifier():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += [r for r in extra if not r.startswith("advsub[")]
    env = {_name(r): r for r in _pip_section()}
    for req in wanted:
        name = _name(req)
        assert name in env, f"{name} is in pyproject.toml but not in environment.yml"
        if name != "torch":
            assert env[name] == req, f"{name}: pyproject says {req!r}, environment.yml says {env[name]!r}"
    assert set(env) == {_name(r) for r in wanted}, "environment.yml lists packages pyproject.toml does not"


def test_torch_is_pinned_to_the_cpu_wheel_everywhere():
    assert _pip_section().count("torch==2.13.0") == 1
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()


def test_generator_agrees():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "scripts/sync_environment.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
