"""`nntsc.text.decimal_int`: integers from text, None for anything else."""

from __future__ import annotations

import pytest

from nntsc.text import decimal_int


@pytest.mark.parametrize(
    ("text", "signed", "number"),
    [
        ("0", False, 0),
        ("1700000000", False, 1_700_000_000),
        ("007", False, 7),
        ("-12", True, -12),
        # Decimal digits of another script are digits to int() as well.
        ("\u0663\u0664", False, 34),
    ],
)
def test_decimal_digits_are_a_number(text: str, signed: bool, number: int) -> None:
    assert decimal_int(text, signed=signed) == number


@pytest.mark.parametrize(
    "text",
    ["", "-", "--5", "-5", "+5", " 5", "5 ", "1_000", "1.5", "\u00b2", "6\u00b2", "0x10", "five"],
)
def test_anything_else_is_none(text: str) -> None:
    assert decimal_int(text) is None
    if text != "-5":
        assert decimal_int(text, signed=True) is None
    else:
        assert decimal_int(text, signed=True) == -5


def test_more_digits_than_int_converts_is_none() -> None:
    """`int` raises ValueError past `sys.get_int_max_str_digits` (4,300): not a number here."""
    assert decimal_int("9" * 5000) is None
    assert decimal_int("-" + "9" * 5000, signed=True) is None
    assert decimal_int("9" * 4300) == int("9" * 4300)
