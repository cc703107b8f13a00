"""A lesson file read as cells: percent format (`# %%` code, `# %% [markdown]` text), one cell tagged
`parameters` holding the settings."""

import dataclasses
import json
import re
from pathlib import Path

_CELL = re.compile(r"^# %%(?P<rest>.*)$")
_TAGS = re.compile(r"tags\s*=\s*(\[[^\]]*\])")


@dataclasses.dataclass
class Cell:
    kind: str  # "code" or "markdown"
    tags: tuple
    source: str
    first_line: int  # 1-based line of the cell's first source line in the file


def read_cells(path):
    """The cells of a percent-format file, in order; text before the first marker is skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    cells, header, start = [], None, None
    for number, line in enumerate(lines + ["# %%"], start=1):
        match = _CELL.match(line)
        if not match:
            continue
        if header is not None:
            body = lines[start - 1 : number - 1]
            kind = "markdown" if "[markdown]" in header else "code"
            tags = tuple(json.loads(_TAGS.search(header).group(1))) if _TAGS.search(header) else ()
            cells.append(Cell(kind, tags, "\n".join(body), start))
        header, start = match.group("rest"), number + 1
    return cells


def parameters_index(cells):
    """The position of the one cell tagged `parameters`; ValueError unless there is exactly one."""
    tagged = [i for i, cell in enumerate(cells) if "parameters" in cell.tags]
    if len(tagged) != 1:
        raise ValueError(
            "a lesson needs exactly one cell tagged parameters, found %d" % len(tagged)
        )
    return tagged[0]


def parameters_cell(cells):
    return cells[parameters_index(cells)]


def settings_check_index(cells):
    """The position of the first code cell after the parameters cell: the one that checks the settings."""
    start = parameters_index(cells) + 1
    return next((i for i in range(start, len(cells)) if cells[i].kind == "code"), None)
