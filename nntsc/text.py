"""Integers read from text people write: settings, query parameters, command options, logs.

`int` takes more than a number written in digits (``" 7 "``, ``"+7"``,
``"1_000"``) and refuses some of what `str.isdigit` calls digits (``"²"``),
so checking with one and converting with the other raised a bare
`ValueError`. `decimal_int` does both at once and answers ``None`` for
anything else, leaving the caller's own error (and its message) to say so.
A text of more digits than `int` converts (`sys.get_int_max_str_digits`,
4,300 by default) is not a number either: no setting, parameter or option
means one, and `int` raises `ValueError` for it.
"""

from __future__ import annotations


def decimal_int(text: str, *, signed: bool = False) -> int | None:
    """`text` as an integer when it is decimal digits only, after a ``-`` if `signed`;
    else ``None`` (spaces, ``+``, ``_``, a second ``-``, an empty text).
    """
    digits = text[1:] if signed and text[:1] == "-" else text
    if not digits.isdecimal():
        return None
    try:
        return int(text)
    except ValueError:  # more digits than int() converts
        return None
