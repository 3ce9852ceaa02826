"""The ipywidgets controls the notebooks build exist, with the options they pass, in this ipywidgets.

Colab renders ipywidgets 7 (it ships 7.7.1) and JupyterLab 4 renders 8, so the notebooks may use only
what both have. This reads every notebook's code, finds each `widgets.Name(...)` call, and checks
that the class exists here and takes every keyword given, including the keys of a `style` dict, and
that every attribute the notebook then uses on the control exists. `bash tools/colab_env.sh` runs it
under ipywidgets 7; the ordinary test run covers 8.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

widgets = pytest.importorskip("ipywidgets")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)  # IPython's %magic and !shell lines are not Python


def notebook_code(path: Path) -> ast.Module:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    return ast.parse(MAGIC.sub(r"\1pass", code))


def widget_class(call: ast.AST) -> str | None:
    """'Text' for a call `widgets.Text(...)`, else None."""
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
        owner = call.func.value
        if isinstance(owner, ast.Name) and owner.id == "widgets":
            return call.func.attr
    return None


def controls(tree: ast.Module):
    """Every `widgets.Name(...)` call and, for those assigned to a name, the attributes used on it."""
    calls = [node for node in ast.walk(tree) if widget_class(node)]
    assigned = {node.targets[0].id: widget_class(node.value) for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and widget_class(node.value)}
    used = {(assigned[node.value.id], node.attr) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in assigned}
    return calls, used


def test_the_notebooks_build_widgets():
    built = {widget_class(call) for path in NOTEBOOKS for call in controls(notebook_code(path))[0]}
    assert {"Text", "Dropdown", "IntSlider", "Output", "VBox"} <= built


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_control_and_option_exists(path):
    calls, used = controls(notebook_code(path))
    for call in calls:
        name = widget_class(call)
        assert hasattr(widgets, name), f"{path.name}: ipywidgets {widgets.__version__} has no {name}"
        cls = getattr(widgets, name)
        for keyword in call.keywords:
            assert cls.class_traits().get(keyword.arg) is not None, (
                f"{path.name}: {name} in ipywidgets {widgets.__version__} has no option {keyword.arg!r}")
            if keyword.arg == "style" and isinstance(keyword.value, ast.Dict):
                style = cls().style
                for key in keyword.value.keys:
                    assert style.has_trait(key.value), (
                        f"{path.name}: {name}'s style in ipywidgets {widgets.__version__} has no {key.value!r}")
    for name, attribute in used:
        assert hasattr(getattr(widgets, name), attribute) or getattr(widgets, name).class_traits().get(attribute), (
            f"{path.name}: {name} in ipywidgets {widgets.__version__} has no {attribute!r}")
