"""The package as shipped: the wheel built from this tree, installed (not editable) into a fresh
virtualenv, holds every module of the source tree, imports each one, and runs the demo's
command. An install that misses a package (the simulators once were) fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"hotspotd": ROOT / "hotspotd", "hotspotd.web": ROOT / "web", "hotspotd.radius": ROOT / "radius"}

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import hotspotd, hotspotd.web, hotspotd.radius
found, broken = [], {}
for package in (hotspotd, hotspotd.web, hotspotd.radius):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name.endswith("__main__"):
            continue
        found.append(module.name)
        try:
            importlib.import_module(module.name)
        except Exception as exc:
            broken[module.name] = repr(exc)
print(json.dumps({"found": sorted(found), "broken": broken, "file": hotspotd.__file__}))
"""


def source_modules() -> set[str]:
    names = set()
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                names.add(".".join([package, *parts]))
    return names


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_installed_wheel_has_and_imports_every_module_and_runs_the_demo_command(tmp_path):
    import json

    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist",
        ROOT)
    (wheel,) = (tmp_path / "dist").glob("hotspotd-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel)
    # Run from an empty folder, so that nothing of the source tree can be imported by accident.
    report = json.loads(run(venv / "bin" / "python", "-c", IMPORT_ALL, cwd=tmp_path))
    assert report["file"].startswith(str(venv)), report["file"]
    assert report["broken"] == {}
    missing = source_modules() - set(report["found"])
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "--fresh" in run(venv / "bin" / "hotspotd", "demo", "--help", cwd=tmp_path)
