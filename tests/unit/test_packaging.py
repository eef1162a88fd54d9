"""The packaging metadata: every directory the install ships is a package setuptools was told of.

A directory of data files (templates, static assets) that is not among the
packages makes setuptools warn, about thirty lines each, on every install
(`make venv`, `make demo`), and says a future setuptools will leave it out.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools.config.setupcfg import read_configuration

ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_directory_is_a_declared_package() -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)  # `find_namespace:` looks from the working directory
    try:
        options = read_configuration(ROOT / "setup.cfg")["options"]
    finally:
        os.chdir(cwd)
    packages = set(options["packages"])
    assert options["include_package_data"]
    shipped = set()
    for top in ("nntsc", "ampy", "ampweb", "migrations"):
        for directory, subdirectories, files in os.walk(ROOT / top):
            subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
            if any(not name.endswith((".pyc", ".so", ".c")) for name in files):
                shipped.add(Path(directory).relative_to(ROOT).as_posix().replace("/", "."))
    assert shipped - packages == set()
    assert "ampweb.static.css" in packages
    assert not any(package.startswith("tests") for package in packages)
