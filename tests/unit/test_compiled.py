"""Compiled builds (setup.py, nntsc.compiled): used where built, only when built from the source."""

from __future__ import annotations

import hashlib
import importlib
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from nntsc.collections import Detection
from nntsc.compiled import build_of, export_build
from nntsc.events import _detectors, detectors
from nntsc.events.engine import DETECTORS, make_detector
from nntsc.sysdig import _scan, scan


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """An importable package `fakepkg` in tmp_path with a module `mod`; removed afterwards."""
    root = tmp_path / "fakepkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "mod.py").write_text("WHO = 'source'\n")
    sys.path.insert(0, str(tmp_path))
    yield root
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("fakepkg")]:
        del sys.modules[name]


def _stand_in_build(root: Path, digest: str) -> None:
    # What build_of looks at in a build: its name and the digest it records.
    (root / "mod_c.py").write_text(f"WHO = 'build'\nSOURCE_SHA256 = {digest!r}\n")
    importlib.invalidate_caches()


def test_without_a_build_the_source_runs(package: Path) -> None:
    source = importlib.import_module("fakepkg.mod")
    assert build_of(source) is source


def test_a_build_of_the_current_source_is_used(package: Path) -> None:
    source = importlib.import_module("fakepkg.mod")
    _stand_in_build(package, hashlib.sha256((package / "mod.py").read_bytes()).hexdigest())
    assert build_of(source).WHO == "build"


def test_a_build_of_another_version_of_the_source_is_not_used(
    package: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _stand_in_build(package, hashlib.sha256((package / "mod.py").read_bytes()).hexdigest())
    (package / "mod.py").write_text("WHO = 'source'\nEDITED = True\n")
    source = importlib.import_module("fakepkg.mod")
    assert build_of(source) is source
    assert "compiled from another version" in caplog.text


def test_a_standing_in_module_gets_the_names_it_lists_from_what_runs(package: Path) -> None:
    source = importlib.import_module("fakepkg.mod")
    listed = ["COMPILED", "WHO", "implementation"]
    namespace: dict = {"__all__": listed}
    assert export_build(source, namespace) is source
    assert [namespace[name] for name in listed] == [False, "source", source]
    _stand_in_build(package, hashlib.sha256((package / "mod.py").read_bytes()).hexdigest())
    namespace = {"__all__": listed}
    build = export_build(source, namespace)
    assert build is not source
    assert [namespace[name] for name in listed] == [True, "build", build]


@pytest.mark.skipif(not sysconfig.get_config_var("CC"), reason="no C compiler configured")
def test_the_sysdig_scan_runs_compiled_where_it_can_be_built() -> None:
    # setup.py compiles it at install (make venv); the import's speed depends on it.
    assert scan.COMPILED, "nntsc.sysdig._scan is not compiled: run make venv"
    assert (
        hashlib.sha256(Path(_scan.__file__).read_bytes()).hexdigest()
        == scan.implementation.SOURCE_SHA256
    )
    assert scan.scan_text is not _scan.scan_text


@pytest.mark.skipif(not sysconfig.get_config_var("CC"), reason="no C compiler configured")
def test_the_detectors_run_compiled_where_they_can_be_built() -> None:
    # setup.py compiles them at install (make venv); live detection's cost depends on it.
    assert detectors.COMPILED, "nntsc.events._detectors is not compiled: run make venv"
    assert (
        hashlib.sha256(Path(_detectors.__file__).read_bytes()).hexdigest()
        == detectors.implementation.SOURCE_SHA256
    )
    assert detectors.LevelShift is not _detectors.LevelShift
    assert DETECTORS["level"] is detectors.LevelShift
    # What the engine makes is the build's.
    assert type(make_detector(Detection("loss", "lossrate", "%"))) is detectors.LossRuns
