"""tools/set_repo_url.py: one command moves every badge, install cell and link to another repository."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tools"))
import set_repo_url  # noqa: E402


@pytest.fixture()
def copy_of_the_project(tmp_path) -> Path:
    """The notebooks, README.md and tools/repo_url.txt, copied so that they can be rewritten."""
    shutil.copytree(REPO_ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("runs", ".*"))
    (tmp_path / "tools").mkdir()
    shutil.copy(REPO_ROOT / "tools" / "repo_url.txt", tmp_path / "tools")
    shutil.copy(REPO_ROOT / "README.md", tmp_path)
    return tmp_path


def test_every_notebook_links_to_the_configured_repository():
    assert set_repo_url.problems() == []


def test_set_repo_rewrites_every_link(copy_of_the_project):
    old = set_repo_url.read_repo(copy_of_the_project)
    changed = set_repo_url.set_repo("someone/translation-course", copy_of_the_project)

    assert set_repo_url.read_repo(copy_of_the_project) == "someone/translation-course"
    assert {path.name for path in changed} == {path.name for path in set_repo_url.files_with_links(copy_of_the_project)}
    assert set_repo_url.problems(copy_of_the_project) == []
    for path in set_repo_url.files_with_links(copy_of_the_project):
        assert old not in path.read_text(encoding="utf-8"), path.name
    readme = (copy_of_the_project / "README.md").read_text(encoding="utf-8")
    assert "colab.research.google.com/github/someone/translation-course/blob/main/notebooks/01_" in readme


def test_other_repositories_are_left_alone():
    text = "https://github.com/a/b/x https://github.com/a/bc https://github.com/multi30k/dataset"
    assert set_repo_url.rewrite(text, "a/b", "c/d") == \
        "https://github.com/c/d/x https://github.com/a/bc https://github.com/multi30k/dataset"


def test_a_name_that_is_no_repository_is_refused(copy_of_the_project):
    with pytest.raises(ValueError, match="OWNER/NAME"):
        set_repo_url.set_repo("not a repo", copy_of_the_project)
    assert set_repo_url.problems(copy_of_the_project) == []
