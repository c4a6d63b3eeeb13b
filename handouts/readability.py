"""Offline readability of plain text, by the formulas made for its language.

English: the Flesch-Kincaid grade and Flesch reading ease. Spanish: the Szigriszt-Pazos perspicuity index (read on
the INFLESZ scale, Barrio-Cantalejo and others, An Sist Sanit Navar 2008;31(2):135-52) and Fernandez-Huerta's
reading ease, in the corrected form that counts words per sentence as Flesch's does (Law 2011: the form usually
printed subtracts sentences per 100 words, so shorter sentences would score harder).

Syllables are counted with pyphen's hyphenation patterns for the language (already a WeasyPrint dependency) and a
count of vowel groups, taking the larger: hyphenation points alone miss syllables at word edges ("a-re-a",
"a-pro-ba-do") and in a hiatus ("pa-ís", "le-er"). In Spanish the vowel groups follow the spelling rules: a
diphthong (a weak vowel i, u, u with diaeresis, next to another vowel) is one syllable; two strong vowels (a, e,
o) or an accented i or u next to a vowel are two. No data is downloaded at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyphen

WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
WORDS = {"en": WORD, "es": re.compile(r"[^\W\d_]+")}      # Spanish words have accents, ñ and ü
# The scores each language's documents are shown with, by Score property: its own formulas.
SHOWN = {"en": ("grade", "ease"), "es": ("inflesz", "fernandez_huerta")}
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
ENDS_WITH_STOP = re.compile(r"[.!?][\"'’”)]*$")


@lru_cache(maxsize=4)
def _dictionary(lang: str = "en_US") -> pyphen.Pyphen:
    # Loaded when first needed: a build whose findings are memoised never is.
    return pyphen.Pyphen(lang=lang, left=1, right=1) if lang == "es" else pyphen.Pyphen(lang=lang)


SPANISH_VOWELS = set("aeiouáéíóúü")
SPANISH_STRONG = set("aeoáéóíú")     # an accented i or u is a syllable of its own ("dí-a", "re-ú-ne")


@lru_cache(maxsize=65536)
def spanish_syllables(word: str) -> int:
    word = word.lower()
    groups = 0
    previous = ""
    for ch in word:
        if ch in SPANISH_VOWELS:
            if not previous or (ch in SPANISH_STRONG and previous in SPANISH_STRONG):
                groups += 1          # a new vowel group, or a hiatus of two strong vowels
            previous = ch
        else:
            previous = ""
    if word.endswith("y") and len(word) > 1 and word[-2] not in SPANISH_VOWELS:
        groups += 1                  # "muy" is one syllable; a final y after a consonant is a vowel of its own
    by_pattern = len(_dictionary("es").positions(word)) + 1
    return max(1, groups, by_pattern)


@lru_cache(maxsize=65536)
def syllables(word: str) -> int:
    word = word.lower().replace("’", "'")
    by_pattern = len(_dictionary("en_US").positions(word)) + 1
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

    @property
    def inflesz(self) -> float:
        """Szigriszt-Pazos perspicuity: 206.835 - 62.3 x syllables/words - words/sentences."""
        if not self.words:
            return 100.0
        return 206.835 - 62.3 * self.syllables / self.words - self.words / self.sentences

    @property
    def fernandez_huerta(self) -> float:
        """Fernandez-Huerta's reading ease, corrected: 206.84 - 60 x syllables/words - 1.02 x words/sentences."""
        if not self.words:
            return 100.0
        return 206.84 - 60 * self.syllables / self.words - 1.02 * self.words / self.sentences

    def __add__(self, other: "Score") -> "Score":
        return Score(self.words + other.words, self.sentences + other.sentences, self.syllables + other.syllables)


def score(units: list[str], language: str = "en") -> Score:
    """Score text given as units (paragraphs, list items, table cells); each unit ends at least one sentence."""
    words = sentences = syllable_count = 0
    pattern = WORDS[language]
    count = spanish_syllables if language == "es" else syllables
    for unit in units:
        found = pattern.findall(unit)
        if not found:
            continue
        words += len(found)
        syllable_count += sum(count(w) for w in found)
        body = unit.strip()
        # A unit that does not end with a full stop (a list item, a label) still ends a sentence.
        sentences += len(SENTENCE_END.findall(body)) + (0 if ENDS_WITH_STOP.search(body) else 1)
    return Score(words, max(sentences, 1) if words else 0, syllable_count)
