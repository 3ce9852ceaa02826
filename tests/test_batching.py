"""seq2seq_lib.batching: (seq_len, batch) tensors, full coverage per epoch, reproducible shuffles, low padding."""
from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

from seq2seq_lib.batching import (Batch, BucketBatchSampler, BucketIterator, PairDataset, pad_collate,
                                  padding_fraction)

PAD_IDX, SOS_IDX, EOS_IDX = 1, 2, 3


def columns(batch: Batch) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The (src_ids, trg_ids) examples of a batch, padding removed using the lengths."""
    return [(tuple(batch.src[: int(s), i].tolist()), tuple(batch.trg[: int(t), i].tolist()))
            for i, (s, t) in enumerate(zip(batch.src_lengths, batch.trg_lengths))]


def as_key(example):
    return tuple(example[0]), tuple(example[1])


def tensors(batches):
    return [tuple(t.clone() for t in b) for b in batches]


def same_batches(first, second) -> bool:
    return len(first) == len(second) and all(
        all(torch.equal(x, y) for x, y in zip(a, b)) for a, b in zip(first, second))


@pytest.fixture(scope="module")
def examples(sample_data):
    return sample_data.examples["train"]


# ---------------------------------------------------------------- collate

def test_pad_collate_is_time_first_with_lengths():
    batch = pad_collate([([2, 5, 3], [2, 6, 7, 8, 3]), ([2, 3], [2, 9, 3])], PAD_IDX)
    assert isinstance(batch, Batch)
    assert batch.src.shape == (3, 2) and batch.trg.shape == (5, 2)
    assert batch.src.dtype == batch.trg.dtype == torch.long
    assert batch.src_lengths.tolist() == [3, 2] and batch.trg_lengths.tolist() == [5, 3]
    assert batch.src[:, 1].tolist() == [2, 3, PAD_IDX]
    assert batch.trg[:, 1].tolist() == [2, 9, 3, PAD_IDX, PAD_IDX]


def test_batch_to_device_moves_the_ids_and_keeps_the_lengths_on_the_cpu():
    batch = pad_collate([([2, 5, 3], [2, 3])], PAD_IDX)
    moved = batch.to("meta")  # a real device change that needs no GPU
    assert isinstance(moved, Batch)
    assert moved.src.device.type == "meta" and moved.trg.device.type == "meta"
    assert moved.src_lengths.device.type == "cpu" and moved.trg_lengths.device.type == "cpu"
    assert [t.shape for t in moved] == [t.shape for t in batch]
    same = batch.to(torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(same, batch))


def synthetic_examples(count: int, seed: int = 0):
    """Id pairs shaped like real ones (<sos> words <eos>), needing no tokenizer."""
    rng = random.Random(seed)
    return [([SOS_IDX] + [rng.randrange(4, 50) for _ in range(rng.randint(1, 20))] + [EOS_IDX],
             [SOS_IDX] + [rng.randrange(4, 50) for _ in range(rng.randint(1, 20))] + [EOS_IDX])
            for _ in range(count)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterator_on_cuda_matches_cpu(num_workers):
    examples = synthetic_examples(500)
    batch = pad_collate(examples[:4], PAD_IDX).to("cuda", non_blocking=True)
    assert batch.src.is_cuda and batch.trg.is_cuda and not batch.src_lengths.is_cuda
    on_gpu = BucketIterator(examples, 64, PAD_IDX, device="cuda", seed=2, num_workers=num_workers, pin_memory=True)
    on_cpu = BucketIterator(examples, 64, PAD_IDX, seed=2)
    for gpu_batch, cpu_batch in zip(on_gpu, on_cpu, strict=True):
        assert gpu_batch.src.is_cuda and gpu_batch.trg.is_cuda
        assert all(torch.equal(g.cpu(), c) for g, c in zip(gpu_batch, cpu_batch))


# ---------------------------------------------------------------- the iterator's batches

def test_every_batch_starts_with_sos_and_ends_each_column_with_eos(examples):
    for batch in BucketIterator(examples, 16, PAD_IDX):
        assert batch.src.shape[1] == batch.trg.shape[1] <= 16
        assert (batch.src[0] == SOS_IDX).all() and (batch.trg[0] == SOS_IDX).all()
        for tensor, lengths in ((batch.src, batch.src_lengths), (batch.trg, batch.trg_lengths)):
            assert int(lengths.max()) == tensor.shape[0]
            assert (tensor[lengths - 1, torch.arange(tensor.shape[1])] == EOS_IDX).all()
            after_end = torch.arange(tensor.shape[0])[:, None] >= lengths[None, :]
            assert (tensor[after_end] == PAD_IDX).all() and not (tensor[~after_end] == PAD_IDX).any()


@pytest.mark.parametrize("batch_size", [1, 7, 16, 320, 1000])
@pytest.mark.parametrize("bucket, shuffle", [(True, True), (False, True), (True, False), (False, False)])
def test_each_epoch_covers_every_example_exactly_once(examples, batch_size, bucket, shuffle):
    iterator = BucketIterator(examples, batch_size, PAD_IDX, shuffle=shuffle, bucket=bucket, seed=3)
    expected = Counter(as_key(e) for e in examples)
    for _ in range(2):
        batches = list(iterator)
        assert len(batches) == len(iterator) == -(-len(examples) // batch_size)
        assert Counter(c for b in batches for c in columns(b)) == expected
        assert sum(b.src.shape[1] for b in batches) == len(examples)


def test_sampler_yields_a_permutation_of_all_indices():
    lengths = [(n % 13 + 2, n % 7 + 2) for n in range(1003)]
    sampler = BucketBatchSampler(lengths, 32, seed=5, pool_batches=4)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(1003))
        assert sorted(len(b) for b in batches)[1:] == [32] * (len(batches) - 1)


def test_same_seed_same_batches_and_epochs_differ(examples):
    first = BucketIterator(examples, 16, PAD_IDX, seed=11)
    second = BucketIterator(examples, 16, PAD_IDX, seed=11)
    epoch0_a, epoch0_b = tensors(first), tensors(second)
    assert same_batches(epoch0_a, epoch0_b)
    epoch1_a = tensors(first)
    assert not same_batches(epoch0_a, epoch1_a), "two epochs gave the same batches"
    assert same_batches(epoch1_a, tensors(second))
    other_seed = tensors(BucketIterator(examples, 16, PAD_IDX, seed=12))
    assert not same_batches(epoch0_a, other_seed)


def test_set_epoch_reproduces_a_later_epoch(examples):
    trained = BucketIterator(examples, 16, PAD_IDX, seed=4)
    for _ in range(3):
        list(trained)
    epoch3 = tensors(trained)
    resumed = BucketIterator(examples, 16, PAD_IDX, seed=4)
    resumed.set_epoch(3)
    assert same_batches(tensors(resumed), epoch3)


def test_evaluation_order_is_fixed_and_sorted_by_length(examples):
    iterator = BucketIterator(examples, 16, PAD_IDX, shuffle=False)
    first, second = tensors(iterator), tensors(iterator)
    assert same_batches(first, second)
    lengths = [(int(s), int(t)) for b in first for s, t in zip(b[1], b[3])]
    assert lengths == sorted(lengths)


def test_buckets_hold_similar_lengths(examples):
    spreads = [int(b.src_lengths.max() - b.src_lengths.min()) for b in BucketIterator(examples, 16, PAD_IDX)]
    random_spreads = [int(b.src_lengths.max() - b.src_lengths.min())
                      for b in BucketIterator(examples, 16, PAD_IDX, bucket=False)]
    # sorted by (src, trg) length: neighbours differ by at most a token, except among the rare long ones
    assert sorted(spreads)[len(spreads) // 2] <= 1
    assert sum(spreads) * 4 < sum(random_spreads)


def test_bucketing_pads_far_less_than_random_batches(examples):
    bucketed = padding_fraction(BucketIterator(examples, 16, PAD_IDX, seed=0), PAD_IDX)
    random_batches = padding_fraction(BucketIterator(examples, 16, PAD_IDX, seed=0, bucket=False), PAD_IDX)
    assert bucketed < 0.05 < 0.15 < random_batches


def test_small_pools_still_cover_everything_but_pad_more(examples):
    lengths = [(len(s), len(t)) for s, t in examples]

    def padded_entries(sampler):
        return sum(max(lengths[i][side] for i in b) * len(b) - sum(lengths[i][side] for i in b)
                   for b in sampler for side in (0, 1))

    small = BucketBatchSampler(lengths, 16, seed=0, pool_batches=1)
    assert sorted(i for b in small for i in b) == list(range(len(examples)))
    assert padded_entries(small) > 2 * padded_entries(BucketBatchSampler(lengths, 16, seed=0))


def test_num_workers_gives_the_same_batches(examples):
    in_process = tensors(BucketIterator(examples, 32, PAD_IDX, seed=9))
    with_workers = tensors(BucketIterator(examples, 32, PAD_IDX, seed=9, num_workers=2))
    assert same_batches(in_process, with_workers)


def test_iterator_moves_batches_to_its_device(examples):
    iterator = BucketIterator(examples, 64, PAD_IDX, device="meta")
    assert iterator.device == torch.device("meta")
    for batch in iterator:
        assert batch.src.device.type == "meta" and batch.trg.device.type == "meta"
        assert batch.src_lengths.device.type == "cpu" and batch.trg_lengths.device.type == "cpu"


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("batch_size", [0, -4, 2.5, True, "16"])
def test_bad_batch_size(examples, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        BucketIterator(examples, batch_size, PAD_IDX)


def test_bad_pool_size():
    with pytest.raises(ValueError, match="pool_batches must be >= 1"):
        BucketBatchSampler([(3, 3)], 4, pool_batches=0)


def test_no_examples():
    with pytest.raises(ValueError, match="No examples"):
        BucketIterator([], 16, PAD_IDX)
    with pytest.raises(ValueError, match="No examples"):
        PairDataset([])


def test_padding_fraction_counts_source_and_target():
    batch = pad_collate([([2, 5, 3], [2, 3]), ([2, 3], [2, 3])], PAD_IDX)
    # src is 3x2 with one pad, trg is 2x2 with none: 1 of 10 entries
    assert padding_fraction([batch], PAD_IDX) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="at least one batch"):
        padding_fraction([], PAD_IDX)


# ---------------------------------------------------------------- the real corpus

@pytest.mark.multi30k
def test_multi30k_padding_bucketed_vs_random(multi30k_full):
    train = multi30k_full.examples["train"]
    pad_idx = multi30k_full.pad_idx
    bucketed = padding_fraction(multi30k_full.iterator("train", seed=0), pad_idx)
    random_batches = padding_fraction(BucketIterator(train, 128, pad_idx, seed=0, bucket=False), pad_idx)
    assert bucketed <= 0.08
    assert 0.35 <= random_batches <= 0.65
    assert bucketed < random_batches / 5


@pytest.mark.multi30k
def test_multi30k_train_batches_are_128_wide(multi30k_full):
    iterator = multi30k_full.iterator("train")
    batches = list(iterator)
    assert len(batches) == len(iterator) == 227  # ceil(29,000 / 128)
    assert sorted(b.src.shape[1] for b in batches)[1:] == [128] * 226
    assert sum(b.src.shape[1] for b in batches) == 29_000
