"""Offline readability: Flesch-Kincaid grade and Flesch reading ease of plain text.

Syllables are counted with pyphen's English hyphenation patterns (already a WeasyPrint dependency) and a
vowel-group count, taking the larger: hyphenation points alone miss syllables at word edges ("a-re-a"), and
vowel groups alone miss some inside words. No data is downloaded at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyphen

WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
ENDS_WITH_STOP = re.compile(r"[.!?][\"'’”)]*$")


@lru_cache(maxsize=1)
def _dictionary() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_US")     # loaded when first needed: a build whose findings are memoised never is


@lru_cache(maxsize=65536)
def syllables(word: str) -> int:
    word = word.lower().replace("’", "'")
    by_pattern = len(_dictionary().positions(word)) + 1
    groups = re.findall(r"[aeiouy]+", word)
    by_vowels = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and by_vowels > 1:
        by_vowels -= 1        # a silent final e: "cure", "made"
    if word.endswith(("es", "ed")) and by_vowels > 1 and not re.search(r"[tdscxz]h?e[sd]$", word):
        by_vowels -= 1        # "takes", "used" (but "causes", "treated")
    return max(1, by_pattern, by_vowels)


@dataclass(frozen=True)
class Score:
    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        if not self.words:
            return 0.0
        return 0.39 * self.words / self.sentences + 11.8 * self.syllables / self.words - 15.59

    @property
    def ease(self) -> float:
        if not self.words:
            return 100.0
        return 206.835 - 1.015 * self.words / self.sentences - 84.6 * self.syllables / self.words

    def __add__(self, other: "Score") -> "Score":
        return Score(self.words + other.words, self.sentences + other.sentences, self.syllables + other.syllables)


def score(units: list[str]) -> Score:
    """Score text given as units (paragraphs, list items, table cells); each unit ends at least one sentence."""
    words = sentences = syllable_count = 0
    for unit in units:
        found = WORD.findall(unit)
        if not found:
            continue
        words += len(found)
        syllable_count += sum(syllables(w) for w in found)
        body = unit.strip()
        # A unit that does not end with a full stop (a list item, a label) still ends a sentence.
        sentences += len(SENTENCE_END.findall(body)) + (0 if ENDS_WITH_STOP.search(body) else 1)
    return Score(words, max(sentences, 1) if words else 0, syllable_count)
