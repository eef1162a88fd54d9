"""Counted nouns and articles: ampy.words (ampy's messages, the templates' filters) and
the pages' script (ampweb/static/js/lib/words.js, checked by tests/js/words.test.mjs) give the
same text for one table of cases (tests/data/words_cases.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ampy import words

CASES_JSON = Path(__file__).parents[1] / "data" / "words_cases.json"

#: (function, arguments, expected), shared with tests/js/words.test.mjs, which checks the script
CASES = [tuple(case) for case in json.loads(CASES_JSON.read_text())["cases"]]


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_python_filters(name: str, args: list, expected: str) -> None:
    assert getattr(words, name)(*args) == expected


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
