"""`pocketstack lab check N` and `pocketstack lab reset N`: the labs of
labs/ checked against the learner's stack.

Each lab has its text in labs/NN-name.md and, here, one module
`labNN_name.py` whose `LAB` is a `Lab` (base.py): the requirements its steps
leave behind, each with a hint, and how to put the stack back. The modules
are found by their names, so a new lab is one new file.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

from pocketstack.lab.base import Lab

_MODULE = re.compile(r"lab(\d\d)_\w+$")


def all_labs() -> dict[int, Lab]:
    """Every lab, by number."""
    labs: dict[int, Lab] = {}
    for module in pkgutil.iter_modules(__path__):
        match = _MODULE.match(module.name)
        if match:
            lab = importlib.import_module(f"{__name__}.{module.name}").LAB
            labs[int(match.group(1))] = lab
    return dict(sorted(labs.items()))
