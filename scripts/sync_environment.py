"""Write environment.yml (for conda users) from pyproject.toml, the single source of the dependencies.

    python scripts/sync_environment.py          # rewrite environment.yml
    python scripts/sync_environment.py --check  # exit 1 if it is out of date

tests/test_environment.py runs the check, so the two lists cannot drift apart.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH_PIN = "torch==2.13.0"  # the CPU wheel; the Makefile pins the same


def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        reqs += [r for r in extra if not r.startswith("advsub[")]
    out = []
    for r in reqs:
        out.append(TORCH_PIN if re.match(r"torch\b", r) else r)
    return sorted(dict.fromkeys(out), key=str.lower)


def render() -> str:
    lines = [
        "# Conda environment for advsub, generated from pyproject.toml by scripts/sync_environment.py.",
        "# Do not edit by hand. Usage: conda env create -f environment.yml && conda activate advsub",
        "name: advsub",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    lines += [f'      - "{r}"' for r in requirements()]
    lines += ['      - "-e ."']
    return "\n".join(lines) + "\n"


def main() -> int:
    path = ROOT / "environment.yml"
    text = render()
    if "--check" in sys.argv:
        if not path.exists() or path.read_text() != text:
            print("environment.yml is out of date: run python scripts/sync_environment.py")
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
