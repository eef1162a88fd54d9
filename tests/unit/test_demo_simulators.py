"""The demo's simulators: one class per amplet2 test, in one registry that everything reads."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nntsc.cli import main
from nntsc.collections import for_amp_test
from nntsc.demo import ALL_TESTS, SIMULATORS, TEST_PERIODS, SimulatedMesh, Simulator

DAY = 86400
START = 1_790_000_000 - 1_790_000_000 % DAY


def test_the_registry_is_the_list_of_tests():
    assert tuple(SIMULATORS) == ALL_TESTS
    assert ALL_TESTS[0] == "icmp"  # the mesh's own stream: its reports come first at an instant
    for name, cls in SIMULATORS.items():
        assert issubclass(cls, Simulator)
        assert cls.test == name
        assert cls.summary
        assert TEST_PERIODS[name] == cls.period
        # Every simulated test has the collections that store its reports.
        assert for_amp_test(name), name


@pytest.mark.parametrize("test", ALL_TESTS)
def test_each_simulator_counts_what_it_yields(test):
    mesh = SimulatedMesh(3, START, START + 2 * 3600, interval=120, seed=5)
    simulator = mesh.simulator(test)
    assert mesh.simulator(test) is simulator  # one per mesh, keeping what it fixed
    timestamp = START + 3600
    rnd = random.Random(1)
    assert sum(len(simulator.run(src, timestamp, rnd)) for src in mesh.sites) == (
        simulator.reports_per_run()
    )


def test_an_unknown_test_names_the_known_ones():
    mesh = SimulatedMesh(2, START, START + 3600)
    with pytest.raises(ValueError, match=r"unknown test 'nosuchtest'.*icmp, tcpping"):
        mesh.simulator("nosuchtest")


def test_cli_help_lists_every_simulated_test():
    result = CliRunner().invoke(main, ["demo-data", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert ", ".join(ALL_TESTS) in " ".join(result.output.split())


def _module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nntsc.demo.simulators", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_demo_script_reads_the_registry():
    """`bin/demo.sh` loads the tests other than ICMP by asking the registry."""
    assert _module("--except", "icmp").stdout.strip() == ",".join(ALL_TESTS[1:])
    described = _module("--describe").stdout.splitlines()
    assert [line.split()[0] for line in described] == list(ALL_TESTS)
    refused = _module("--except", "nosuchtest")
    assert refused.returncode == 2
    assert "unknown tests: nosuchtest" in refused.stderr


def test_the_registry_loads_without_the_store():
    """The CLI reads the registry for its help: that must not import the site registry."""
    code = "import sys, nntsc.demo.simulators; print('nntsc.store.sites' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_nothing_the_product_runs_lives_under_tests():
    with open("bin/demo.sh", encoding="utf-8") as script:
        assert "tests/" not in script.read()
