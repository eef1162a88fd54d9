"""`ampweb.validation.validate`: an array query parameter given no values."""

from __future__ import annotations

import pytest
from pyramid.request import Request
from referencing import Registry

from ampweb.params import BadParameter
from ampweb.validation import Operation, Parameter, _validator, validate


def operation(schema: dict) -> Operation:
    parameter = Parameter("stream", "query", False, schema, _validator(schema, Registry()))
    return Operation((parameter,), declared=frozenset({"stream"}))


def test_an_array_given_no_values_is_empty_and_checked_as_such_each_time() -> None:
    plain = operation({"type": "array", "items": {"type": "integer"}})
    needs_one = operation({"type": "array", "items": {"type": "integer"}, "minItems": 1})
    for _ in range(2):  # the outcome for no values is kept after the first request
        assert validate(Request.blank("/x"), plain) == {"stream": []}
        assert validate(Request.blank("/x?stream=3&stream=4"), plain) == {"stream": [3, 4]}
        with pytest.raises(BadParameter, match="parameter 'stream' "):
            validate(Request.blank("/x"), needs_one)
        assert validate(Request.blank("/x?stream=3"), needs_one) == {"stream": [3]}
