"""Point every link to the project's GitHub repository at OWNER/NAME.

The repository is named once, in tools/repo_url.txt. The notebooks' "Open in Colab" badges, their
install cells and links, and README.md's links all carry it; this rewrites them together and then
the file. Only source text changes: the notebooks are edited as text, so outputs stay as they are.

Usage: python tools/set_repo_url.py OWNER/NAME   (rewrite)
       python tools/set_repo_url.py --check      (exit 1 if a notebook's badge or install cell is not
                                                  the one tools/repo_url.txt asks for)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from run_notebooks import series  # the same folder: tools/

ROOT = Path(__file__).resolve().parent.parent
REPO_FILE = ROOT / "tools" / "repo_url.txt"
REPO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
# The two URL forms that name the repository: github.com/OWNER/NAME and Colab's github/OWNER/NAME.
URL_PREFIXES = ("github.com/", "colab.research.google.com/github/")


def read_repo(root: Path = ROOT) -> str:
    return (root / "tools" / "repo_url.txt").read_text(encoding="utf-8").strip()


def files_with_links(root: Path = ROOT) -> list[Path]:
    return series(root / "notebooks") + [root / "README.md"]


def install_requirement(repo: str) -> str:
    """What the notebooks' install cell passes to pip."""
    return f"seq2seq-lib @ git+https://github.com/{repo}"


def colab_badge_url(repo: str, notebook: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook}"


def rewrite(text: str, old: str, new: str) -> str:
    """`text` with every GitHub or Colab URL naming `old` naming `new` instead."""
    prefixes = "|".join(re.escape(prefix) for prefix in URL_PREFIXES)
    # The lookahead stops `owner/name` from matching the start of `owner/name-other`.
    pattern = re.compile(rf"({prefixes}){re.escape(old)}(?![A-Za-z0-9._-])")
    return pattern.sub(lambda match: match.group(1) + new, text)


def set_repo(new: str, root: Path = ROOT) -> list[Path]:
    """Rewrite every link from the current repository to `new`; returns the files that changed."""
    if not REPO_NAME.fullmatch(new):
        raise ValueError(f"{new!r} is not a GitHub repository name of the form OWNER/NAME")
    old = read_repo(root)
    changed = []
    for path in files_with_links(root):
        text = path.read_text(encoding="utf-8")
        updated = rewrite(text, old, new)
        if updated != text:
            path.write_text(updated, encoding="utf-8")
            changed.append(path)
    (root / "tools" / "repo_url.txt").write_text(new + "\n", encoding="utf-8")
    return changed


def problems(root: Path = ROOT) -> list[str]:
    """Notebooks whose badge or install cell does not name the repository in tools/repo_url.txt."""
    repo = read_repo(root)
    found = []
    for path in files_with_links(root)[:-1]:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        sources = ["".join(cell["source"]) for cell in cells]
        if colab_badge_url(repo, path.name) not in sources[0]:
            found.append(f"{path.name}: the first cell has no Colab badge for {colab_badge_url(repo, path.name)}")
        if not any(f'%pip install "{install_requirement(repo)}"' in source for source in sources):
            found.append(f"{path.name}: no cell runs %pip install \"{install_requirement(repo)}\"")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", help="OWNER/NAME of the repository on GitHub")
    parser.add_argument("--check", action="store_true", help="only check that the links agree")
    args = parser.parse_args(argv)
    if args.check == bool(args.repo):
        parser.error("give either OWNER/NAME or --check")
    if args.check:
        found = problems()
        print("\n".join(found) or f"every notebook links to {read_repo()}")
        return 1 if found else 0
    old = read_repo()
    try:
        changed = set_repo(args.repo)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{old} -> {args.repo} in {len(changed)} file(s): {', '.join(path.name for path in changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
