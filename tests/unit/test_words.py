"""Counted nouns and articles: ampy.words (ampy's messages, the templates' filters) and
the pages' script (ampweb/static/js/lib/words.js) give the same text for one table of cases."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ampy import words

WORDS_JS = Path(__file__).parents[2] / "ampweb" / "static" / "js" / "lib" / "words.js"

#: (function, arguments, expected)
CASES = [
    ("counted", [1, "server"], "1 server"),
    ("counted", [2, "server"], "2 servers"),
    ("counted", [0, "server"], "no servers"),
    ("counted", [None, "stream"], "no streams"),
    ("counted", [1.0, "object"], "1 object"),
    ("counted", [2.5, "server"], "2.5 servers"),
    ("counted", [1234, "stream"], "1,234 streams"),
    ("counted", [3, "address"], "3 addresses"),
    ("counted", [2, "query"], "2 queries"),
    ("counted", [2, "day"], "2 days"),
    ("counted", [4, "AS hop"], "4 AS hops"),
    ("counted", [1, "traceroute"], "1 traceroute"),
    ("counted", [2, "match"], "2 matches"),
    ("plural", ["hop", 1], "hop"),
    ("plural", ["path", 2], "paths"),
    ("with_article", ["AS path length"], "an AS path length"),
    ("with_article", ["HTTP"], "an HTTP"),
    ("with_article", ["UDP jitter"], "a UDP jitter"),
    ("with_article", ["latency"], "a latency"),
    ("with_article", ["ICMP"], "an ICMP"),
    ("with_article", ["unique path"], "a unique path"),
    ("with_article", ["hour"], "an hour"),
    ("with_article", ["file operations"], "a file operations"),
    ("with_article", ["traceroute path length"], "a traceroute path length"),
    ("sentence_case", ["Latency"], "latency"),
    ("sentence_case", ["AS path length"], "AS path length"),
    ("sentence_case", ["UDP voice quality (MOS)"], "UDP voice quality (MOS)"),
    ("sentence_case", ["File operations"], "file operations"),
    ("sentence_case", ["HTTP"], "HTTP"),
]
JS_NAMES = {"with_article": "withArticle", "sentence_case": "sentenceCase"}


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_python_filters(name: str, args: list, expected: str) -> None:
    assert getattr(words, name)(*args) == expected


def test_the_script_agrees_with_the_filters() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    calls = [[JS_NAMES.get(name, name), args] for name, args, _ in CASES]
    script = (
        f"import * as w from {json.dumps(WORDS_JS.as_uri())};\n"
        f"const calls = {json.dumps(calls)};\n"
        "console.log(JSON.stringify(calls.map(([f, a]) => w[f](...a))));\n"
    )
    answer = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(answer.stdout) == [expected for _, _, expected in CASES]


def test_ampy_messages_count_right() -> None:
    from ampy.binsize import describe_binsize

    assert describe_binsize(60) == "1 minute"
    assert describe_binsize(7200) == "2 hours"
    assert describe_binsize(90) == "90 seconds"


def test_templates_have_the_filters() -> None:
    from jinja2 import Environment

    env = Environment(autoescape=True)
    env.filters.update(words.FILTERS)
    text = env.from_string("{{ 1|counted('server') }}, {{ 'AS path'|with_article }}").render()
    assert text == "1 server, an AS path"
