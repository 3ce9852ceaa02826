"""What every exercise test needs: the checker's verdict, quietly, and a check that a wrong answer gets its hint."""
from seq2seq_lib.exercises import check

NONSENSE = (None, "text", object(), [[[]]], float("nan"), {"a": 1}, 3.5)  # answers no exercise should crash on


def verdict(name: str, answer: object):
    return check(name, answer, quiet=True)


def assert_hint(name: str, answer: object, hint: str) -> None:
    feedback = verdict(name, answer)
    assert not feedback, answer
    assert hint in feedback.hint, (answer, feedback.hint)


def assert_nonsense_gets_a_hint(name: str) -> None:
    for answer in NONSENSE:
        feedback = verdict(name, answer)
        assert not feedback and feedback.hint and "could not be checked" not in feedback.hint, (name, answer)
