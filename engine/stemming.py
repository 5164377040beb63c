"""Word stems for full-text search (F17), Russian and English, written for this project.

SQLite's FTS5 ships an English-only Porter tokenizer and PostgreSQL's configs stem one
language per call, so both backends index the same text stemmed here and match it with a
plain word tokenizer: "принтера", "принтеры" and "принтер" are one stem, as are "printers"
and "printer", whichever database runs. Russian follows the Snowball algorithm's steps
(RV/R2 regions, endings removed by class); English is a light Porter-style pass (plurals,
-ed/-ing, -y, a few derivational suffixes). Both over- and under-stem at times: a query is
stemmed the same way as the text, so what matters is that word forms meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

# Letters and digits; underscore and punctuation split words (so do FTS5's unicode61 and
# PostgreSQL's parser on the stems we hand them).
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")
# Stems longer than this are junk (base64, hashes): kept, but cut, so the index stays small.
_MAX_WORD = 40


def words(text: str) -> Iterator[str]:
    """The words of `text`, lower case, ё as е."""
    for match in _WORD.finditer(text.lower().replace("ё", "е")):
        yield match.group()[:_MAX_WORD]


# Text is mostly the same few thousand words: a cache makes stemming a dictionary lookup.
@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The stem of one lower-case word; words mixing scripts or with digits stay as they are."""
    if word.isdigit() or not word.isalpha():
        return word
    if _CYRILLIC.search(word) and not _LATIN.search(word):
        return stem_ru(word)
    if _LATIN.search(word) and not _CYRILLIC.search(word):
        return stem_en(word)
    return word


class _Known(dict[str, str]):
    """word -> stem for the words met so far; `map` over its `__getitem__` runs in C, so
    a known word costs a dictionary lookup, not a Python call (`bench/cron_loop.py`:
    stemming a mail's text took half the time it took with `stem`'s own cache)."""

    def __missing__(self, word: str) -> str:
        if len(self) >= _KNOWN_WORDS:  # junk words (hashes, base64) must not grow it forever
            self.clear()
        found = self[word] = stem(word[:_MAX_WORD])
        return found


_KNOWN_WORDS = 200_000
_KNOWN = _Known()


def stems(text: str) -> list[str]:
    """Every word of `text` as its stem, in order (repeats kept: they weigh in ranking)."""
    return list(map(_KNOWN.__getitem__, _WORD.findall(text.lower().replace("ё", "е"))))


def stemmed(text: str) -> str:
    """`text` as space-separated stems: what the search index stores and queries match."""
    return " ".join(map(_KNOWN.__getitem__, _WORD.findall(text.lower().replace("ё", "е"))))


# ---------------------------------------------------------------- Russian (Snowball steps)

_RU_VOWELS = frozenset("аеиоуыэюя")


def _longest(suffixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(suffixes), key=len, reverse=True))


_PERFECTIVE_1 = _longest(("в", "вши", "вшись"))  # after а or я
_PERFECTIVE_2 = _longest(("ив", "ивши", "ившись", "ыв", "ывши", "ывшись"))
_REFLEXIVE = _longest(("ся", "сь"))
_ADJECTIVE = _longest((
    "ее", "ие", "ые", "ое", "ими", "ыми", "ей", "ий", "ый", "ой", "ем", "им", "ым", "ом",
    "его", "ого", "ему", "ому", "их", "ых", "ую", "юю", "ая", "яя", "ою", "ею"))
_PARTICIPLE_1 = _longest(("ем", "нн", "вш", "ющ", "щ"))  # after а or я
_PARTICIPLE_2 = _longest(("ивш", "ывш", "ующ"))
_VERB_1 = _longest((  # after а or я
    "ла", "на", "ете", "йте", "ли", "й", "л", "ем", "н", "ло", "но", "ет", "ют", "ны", "ть",
    "ешь", "нно"))
_VERB_2 = _longest((
    "ила", "ыла", "ена", "ейте", "уйте", "ите", "или", "ыли", "ей", "уй", "ил", "ыл", "им",
    "ым", "ен", "ило", "ыло", "ено", "ят", "ует", "уют", "ит", "ыт", "ены", "ить", "ыть",
    "ишь", "ую", "ю"))
_NOUN = _longest((
    "а", "ев", "ов", "ие", "ье", "е", "иями", "ями", "ами", "еи", "ии", "и", "ией", "ей",
    "ой", "ий", "й", "иям", "ям", "ием", "ем", "ам", "ом", "о", "у", "ах", "иях", "ях", "ы",
    "ь", "ию", "ью", "ю", "ия", "ья", "я"))
_SUPERLATIVE = _longest(("ейш", "ейше"))
_DERIVATIONAL = _longest(("ост", "ость"))


def _ru_regions(word: str) -> tuple[int, int]:
    """RV (after the first vowel) and R2 (R1 of R1), as start offsets."""
    rv = next((i + 1 for i, ch in enumerate(word) if ch in _RU_VOWELS), len(word))
    r1 = _after_vowel_consonant(word, 0)
    return rv, _after_vowel_consonant(word, r1)


def _after_vowel_consonant(word: str, start: int) -> int:
    """Where the region after the first non-vowel that follows a vowel (from `start`) begins."""
    for i in range(start + 1, len(word)):
        if word[i] not in _RU_VOWELS and word[i - 1] in _RU_VOWELS:
            return i + 1
    return len(word)


def _strip(word: str, start: int, plain: tuple[str, ...],
           after_a: tuple[str, ...] = ()) -> str | None:
    """`word` without the longest ending of these found inside the region from `start`;
    `after_a` endings count only after а or я (which stays). None: no ending found."""
    region = word[start:]
    for ending in _longest((*plain, *after_a)):
        if not region.endswith(ending):
            continue
        if ending in plain:
            return word[:-len(ending)]
        before = region[:-len(ending)]
        if before.endswith(("а", "я")):
            return word[:-len(ending)]
    return None


def _ru_adjectival(word: str, rv: int) -> str | None:
    bare = _strip(word, rv, _ADJECTIVE)
    if bare is None:
        return None
    return _strip(bare, rv, _PARTICIPLE_2, _PARTICIPLE_1) or bare


def stem_ru(word: str) -> str:
    rv, r2 = _ru_regions(word)
    found = _strip(word, rv, _PERFECTIVE_2, _PERFECTIVE_1)
    if found is None:
        word = _strip(word, rv, _REFLEXIVE) or word
        found = (_ru_adjectival(word, rv) or _strip(word, rv, _VERB_2, _VERB_1)
                 or _strip(word, rv, _NOUN))
    word = found if found is not None else word
    if word[rv:].endswith("и"):
        word = word[:-1]
    if r2 < len(word):
        word = _strip(word, r2, _DERIVATIONAL) or word
    superlative = _strip(word, rv, _SUPERLATIVE)
    if superlative is not None:
        word = superlative
    if word[rv:].endswith("нн"):
        return word[:-1]
    if word[rv:].endswith("ь"):
        return word[:-1]
    return word


# ---------------------------------------------------------------- English (Porter-style)

_EN_VOWELS = frozenset("aeiouy")
_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_STEP2 = (("ational", "ate"), ("tional", "tion"), ("ization", "ize"), ("ation", "ate"),
          ("fulness", "ful"), ("ousness", "ous"), ("iveness", "ive"), ("ness", ""),
          ("ment", ""), ("ful", ""), ("ably", "able"), ("ally", "al"), ("ly", ""))


def _has_vowel(part: str) -> bool:
    return any(ch in _EN_VOWELS for ch in part)


def _en_r1(word: str) -> int:
    for i in range(1, len(word)):
        if word[i] not in _EN_VOWELS and word[i - 1] in _EN_VOWELS:
            return i + 1
    return len(word)


def _short(word: str) -> bool:
    """Ends consonant-vowel-consonant (not w, x, y) with nothing before R1: "hop", "tap"."""
    return (len(word) == 3 and word[0] not in _EN_VOWELS and word[1] in _EN_VOWELS
            and word[2] not in _EN_VOWELS and word[2] not in "wxy")


def _en_plural(word: str) -> str:
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ied", "ies")):
        return word[:-2] if len(word) > 4 else word[:-1]
    if word.endswith(("us", "ss")) or not word.endswith("s"):
        return word
    return word[:-1] if _has_vowel(word[:-2]) else word


def _en_ed_ing(word: str) -> str:
    if word.endswith(("eed", "eedly")):
        return word
    for ending in ("ingly", "edly", "ing", "ed"):
        if word.endswith(ending) and _has_vowel(word[:-len(ending)]):
            bare = word[:-len(ending)]
            if bare.endswith(("at", "bl", "iz")):
                return bare + "e"
            if bare.endswith(_DOUBLES):
                return bare[:-1]
            return bare + "e" if _short(bare) else bare
    return word


def stem_en(word: str) -> str:
    if len(word) <= 2:
        return word
    word = word.removesuffix("'s").removesuffix("'")
    word = _en_ed_ing(_en_plural(word))
    if len(word) > 2 and word.endswith("y") and word[-2] not in _EN_VOWELS:
        word = word[:-1] + "i"
    r1 = _en_r1(word)
    for ending, instead in _STEP2:
        if word.endswith(ending) and len(word) - len(ending) >= r1:
            word = word[:-len(ending)] + instead
            break
    # A final e goes, as "replaced" lost it: "replace" and "replaced" meet at "replac".
    # Four letters keep it, so "hope" (and "hoping", given its e back above) stay apart
    # from "hop".
    return word[:-1] if len(word) > 4 and word.endswith("e") else word
