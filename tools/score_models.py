"""Score models on Multi30k's test set by one protocol, with 95% confidence intervals and paired p-values.

    SEQ2SEQ_DATA_DIR=/path/to/multi30k python tools/score_models.py classic attention cho=runs/compare/cho/best.pt \
        --beams 1 5 --baseline classic --out /tmp/scores       # writes /tmp/scores/scores.md and scores.json
    python tools/score_models.py classic attention --update-docs docs/results.md   # rewrites its marked section

Each model is [LABEL=]SOURCE: a shipped model (`attention`, `classic`, `transformer`, or
`pretrained:NAME`) or a checkpoint file. `seq2seq_lib.scoring` holds the protocol (the one
`python -m seq2seq_lib evaluate` follows; notebooks call it directly) and `seq2seq_lib.significance`
the bootstrap intervals and paired tests; this is their command line.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from seq2seq_lib import significance as sig  # noqa: E402
from seq2seq_lib.data import load_multi30k  # noqa: E402
from seq2seq_lib.files import write_atomically, write_json  # noqa: E402
from seq2seq_lib.scoring import ScoringError, markdown_table, parse_model, score_models  # noqa: E402

BEGIN, END = "<!-- score_models:begin -->", "<!-- score_models:end -->"


def marked_document(path: str | Path) -> str:
    """The text of `path`, checked to hold one BEGIN marker and, after it, one END marker."""
    path = Path(path)
    document = path.read_text(encoding="utf-8") if path.is_file() else ""
    if document.count(BEGIN) != 1 or document.count(END) != 1 or document.index(BEGIN) > document.index(END):
        raise ScoringError(f"{path} needs exactly one {BEGIN} line followed by one {END} line where the table "
                           "belongs; add them (in a section of their own), then run again.")
    return document


def update_marked_section(path: str | Path, text: str) -> Path:
    """Replace what lies between the BEGIN and END markers of `path` with `text`, atomically."""
    head, rest = marked_document(path).split(BEGIN)
    new = head + BEGIN + "\n" + text + rest[rest.index(END):]
    return write_atomically(Path(path), lambda handle: handle.write(new.encode("utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="[LABEL=]SOURCE")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="beam sizes (1: greedy); default 1 5")
    parser.add_argument("--baseline", help="label of the model the others are compared with (default: the first)")
    parser.add_argument("--all-pairs", action="store_true", help="also compare every ordered pair of models")
    parser.add_argument("--resamples", type=int, default=sig.DEFAULT_RESAMPLES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="score only the first N test sentences (quick checks)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", type=Path, help="folder for scores.md and scores.json")
    parser.add_argument("--update-docs", type=Path, metavar="FILE", help=f"rewrite FILE between {BEGIN} and {END}")
    args = parser.parse_args(argv)
    try:
        for spec in args.models:  # models and document first: before the data is read and minutes of scoring
            parse_model(spec)
        if args.update_docs is not None:
            marked_document(args.update_docs)
        pairs = load_multi30k("test", subset=args.limit)
        report = score_models(args.models, pairs, tuple(args.beams), args.baseline, args.all_pairs, args.resamples,
                              args.seed, args.device, args.batch_size)
    except ScoringError as error:
        raise SystemExit(str(error)) from None
    report["command"] = "python tools/score_models.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    table = (markdown_table(report) + f"\n```bash\n{report['command']}\n```\n\n({report['seconds']:.0f} s in all, "
             f"on {report['device']}.)\n")
    print(table)
    if args.out is not None:
        write_atomically(args.out / "scores.md", lambda handle: handle.write(table.encode("utf-8")))
        write_json(args.out / "scores.json", report)
    if args.update_docs is not None:
        update_marked_section(args.update_docs, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
