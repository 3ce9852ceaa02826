"""Exercises of notebook 01: spaCy tokens, lowercasing and the <sos>/<eos> markers.

>>> from seq2seq_lib.exercises import check
>>> feedback = check("01.count_en", 5, quiet=True)
>>> feedback.correct, "str.split()" in feedback.hint
(False, True)
"""
from __future__ import annotations

from numbers import Integral

from ..fields import Field
from . import exercise

TOKENS_SENTENCE = "Der Hund, den ich sah, bellt nicht!"
CONTRACTIONS = "The dog's ball isn't red."
IDS_SENTENCE = "Zwei Hunde spielen im Schnee."


def _is_token_list(answer: object) -> bool:
    return isinstance(answer, (list, tuple)) and all(isinstance(token, str) for token in answer)


def _as_count(answer: object) -> int | None:
    return None if isinstance(answer, bool) or not isinstance(answer, Integral) else int(answer)


@exercise("01.tokens")
def tokens(answer: object) -> tuple[bool, str]:
    """The German field's preprocessed tokens of TOKENS_SENTENCE: spaCy tokens, lowercased."""
    field = Field("de")
    expected = field.preprocess(TOKENS_SENTENCE)
    if not _is_token_list(answer):
        return False, "answer with a list of strings, the output of de_field.preprocess(TOKENS_SENTENCE)."
    answer = list(answer)
    if answer == expected:
        return True, ""
    if answer in (TOKENS_SENTENCE.split(), TOKENS_SENTENCE.lower().split()):
        return False, ("that is str.split(): 'Hund,' and 'sah,' keep their commas and 'nicht!' its '!'. "
                       "Let spaCy split the sentence: de_field.preprocess(TOKENS_SENTENCE).")
    if answer[:1] == [field.init_token] or answer[-1:] == [field.eos_token]:
        return False, ("leave out <sos> and <eos>: preprocess gives the sentence's own tokens; "
                       "the markers are added later, by numericalize.")
    if [token.lower() for token in answer] == expected:
        return False, ("the right tokens, but the field also lowercases them ('Der' -> 'der'); "
                       "de_field.preprocess tokenizes and lowercases in one go.")
    if len(answer) != len(expected):
        return False, (f"the sentence has {len(expected)} tokens, your list has {len(answer)}: "
                       "each comma and the '!' are tokens of their own.")
    return False, "compare your list with de_field.preprocess(TOKENS_SENTENCE) token by token."


@exercise("01.count_en")
def count_en(answer: object) -> tuple[bool, str]:
    """How many tokens the English field makes of CONTRACTIONS (before <sos>/<eos>)."""
    expected = len(Field("en").tokenize(CONTRACTIONS))
    count = _as_count(answer)
    if count is None:
        return False, "answer with a whole number, e.g. len(en_field.tokenize(CONTRACTIONS))."
    if count == expected:
        return True, "spaCy splits \"'s\" and \"n't\" off their words and the '.' off 'red'."
    if count == len(CONTRACTIONS.split()):
        return False, (f"{count} is what str.split() gives. spaCy also splits \"'s\" and \"n't\" off their "
                       "words and the final '.' off 'red'; count en_field.tokenize(CONTRACTIONS).")
    if count == expected + 2:
        return False, "count the sentence's own tokens only; <sos> and <eos> are added later, by numericalize."
    return False, ("not quite: write out en_field.tokenize(CONTRACTIONS) and count. Look at what happens "
                   "to \"dog's\", \"isn't\" and the final '.'.")


@exercise("01.n_ids")
def n_ids(answer: object) -> tuple[bool, str]:
    """Length of de_field.numericalize(de_field.preprocess(IDS_SENTENCE))."""
    n_tokens = len(Field("de").preprocess(IDS_SENTENCE))
    expected = n_tokens + 2
    count = _as_count(answer)
    if count is None:
        return False, "answer with a whole number: how many ids are in the list?"
    if count == expected:
        return True, f"{n_tokens} tokens + <sos> + <eos>."
    if count == n_tokens:
        return False, (f"{n_tokens} is the number of tokens; numericalize also puts <sos> in front "
                       "and <eos> at the end.")
    if count == n_tokens + 1:
        return False, "one marker is missing: <sos> goes in front and <eos> at the end."
    if count == n_tokens - 1:
        return False, "the final '.' is a token too, and then come <sos> and <eos>."
    return False, "count the tokens of de_field.preprocess(IDS_SENTENCE), then add the markers."
