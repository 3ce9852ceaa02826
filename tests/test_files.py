"""files.write_atomically: Ctrl-C in mid-write waits for the write to finish, and never leaves half a file."""
import signal

import pytest
import torch

from seq2seq_lib.files import ctrl_c_held, write_atomically


class InterruptedMidway:
    """A binary file whose `write` number `at` sends this process a SIGINT before writing."""

    def __init__(self, file, at: int):
        self.file, self.at, self.calls = file, at, 0

    def write(self, data):
        self.calls += 1
        if self.calls == self.at:
            signal.raise_signal(signal.SIGINT)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_ctrl_c_in_mid_write_is_raised_once_the_file_is_complete(tmp_path):
    target = tmp_path / "out.bin"
    def write_five(file):
        interrupting = InterruptedMidway(file, 2)
        for i in range(5):
            interrupting.write(b"%d;" % i)

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, write_five)
    assert target.read_bytes() == b"0;1;2;3;4;"  # finished, then interrupted
    assert leftovers(tmp_path) == []


def test_ctrl_c_inside_torch_save_leaves_a_checkpoint_that_loads(tmp_path):
    """torch.save turns an exception raised in its zip writer into a RuntimeError of its own."""
    target, weights = tmp_path / "last.pt", {"w": torch.arange(100_000, dtype=torch.float32)}
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, lambda file: torch.save(weights, InterruptedMidway(file, 3)))
    assert torch.equal(torch.load(target)["w"], weights["w"])
    assert leftovers(tmp_path) == []


def test_an_ignored_sigint_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        write_atomically(tmp_path / "a.bin", lambda file: InterruptedMidway(file, 1).write(b"x"))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (tmp_path / "a.bin").read_bytes() == b"x"


def test_the_handler_is_restored_and_nothing_is_raised_without_a_signal():
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_held():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_a_failed_write_still_removes_its_temp_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def failing(file):
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, failing)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []
