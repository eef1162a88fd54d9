"""Counted nouns and articles for page text: "1 server", "3 servers", "an AS path length".

ampy's messages use them; the web app's templates have them as filters
(``{{ total|counted("stream") }}``, ``{{ title|with_article }}``); the same
rules are in ``ampweb/static/js/lib/words.js`` for text the pages' scripts
make, and ``tests/unit/test_words.py`` checks both against one table of cases.
"""

from __future__ import annotations

#: Plurals that do not add "s" (the nouns the pages count).
IRREGULAR = {"address": "addresses", "match": "matches", "query": "queries", "entry": "entries"}
#: Letters whose names start with a vowel sound: "an HTTP", "an SNMP", "a UDP".
_VOWEL_LETTERS = frozenset("AEFHILMNORSX")
#: Words that start with a vowel letter but a consonant sound: "a unique", "a one-way".
_CONSONANT_SOUNDS = ("uni", "use", "usu", "one", "eu")


def plural(noun: str, count: float = 2) -> str:
    """`noun` for `count` things: the noun itself for exactly 1, else its plural."""
    if count == 1:
        return noun
    words = noun.rsplit(" ", 1)
    last = words[-1]
    if last in IRREGULAR:
        last = IRREGULAR[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join([*words[:-1], last])


def counted(count: float | None, noun: str) -> str:
    """``"1 server"``, ``"2 servers"``, ``"1,234 streams"``; ``"no servers"`` for 0 or None."""
    if not count:
        return f"no {plural(noun)}"
    if float(count).is_integer() or abs(count) >= 100:
        number = f"{round(count):,}"
    else:
        number = f"{count:.3g}"
    return f"{number} {plural(noun, count)}"


def article(phrase: str) -> str:
    """``"a"`` or ``"an"`` for `phrase`, by sound: an AS path, a UDP jitter, an hour-long."""
    word = phrase.strip().split(" ", 1)[0] if phrase.strip() else ""
    if not word:
        return "a"
    if len(word) > 1 and word.isupper():
        return "an" if word[0] in _VOWEL_LETTERS else "a"
    lower = word.lower()
    if lower.startswith(_CONSONANT_SOUNDS):
        return "a"
    if lower.startswith(("hour", "honest", "honour")):
        return "an"
    return "an" if lower[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    """`phrase` after its article: ``"an AS path length"``."""
    return f"{article(phrase)} {phrase}"


def sentence_case(title: str) -> str:
    """A title inside a sentence: ``"Latency"`` -> ``"latency"``; acronyms stay (``"AS path"``)."""
    first, _, rest = title.partition(" ")
    if len(first) == 1 or first[1:].islower():
        first = first.lower()
    return f"{first} {rest}" if rest else first


FILTERS = {
    "counted": counted,
    "plural": plural,
    "with_article": with_article,
    "sentence_case": sentence_case,
}
