"""Where a graph's value axis stops (ampweb/static/js/lib/axis.js), run by node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

AXIS_JS = Path(__file__).parents[2] / "ampweb" / "static" / "js" / "lib" / "axis.js"


def robust_top(values: list[float], hi: float) -> float:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        f"import {{ robustTop }} from {json.dumps(AXIS_JS.as_uri())};\n"
        f"console.log(JSON.stringify(robustTop({json.dumps(values)}, {json.dumps(hi)})));\n"
    )
    answer = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(answer.stdout)


def test_one_outlier_is_left_above_the_axis() -> None:
    values = [200.0 + i % 7 * 10 for i in range(100)] + [100_000.0]
    assert robust_top(values, 100_000.0) == 260.0


def test_ordinary_spread_keeps_its_highest_value() -> None:
    values = [float(v) for v in range(1, 101)]
    assert robust_top(values, 100.0) == 100.0


def test_few_values_are_never_clipped() -> None:
    values = [1.0] * 10 + [1000.0]
    assert robust_top(values, 1000.0) == 1000.0


def test_a_band_top_within_three_times_the_bulk_stays() -> None:
    # Jitter near 0.2 ms with bands up to 1.5 ms: a third of the values are band tops.
    values = [0.2] * 200 + [1.5] * 100
    assert robust_top(values, 1.5) == 1.5
