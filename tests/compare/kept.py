"""The differences we keep on purpose, read from the machine-readable list
beside each service's README (`imaged/compare-kept.toml`,
`identity/compare-kept.toml`). Each entry names the scenario, the role and
the place in the answer (patterns where * is any text and ? any character;
brackets are literal, as in `.images[name=x]`) and says why:

    [[kept]]
    scenario = "images.create"
    role = "*"
    where = "header openstack-image-store-ids"
    reason = "..."

Optional `ours` and `real` patterns narrow an entry to those values (as
text), so that keeping one quirk of a message does not hide another.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.compare.differ import Difference

REPO = Path(__file__).resolve().parents[2]
FILES = (REPO / "imaged" / "compare-kept.toml", REPO / "identity" / "compare-kept.toml")


@cache
def _compiled(pattern: str) -> re.Pattern:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def fnmatchcase(text: str, pattern: str) -> bool:
    """A glob match with * and ? only (a place like `.roles[name=admin]` has
    brackets that fnmatch would read as a character class)."""
    return _compiled(pattern).fullmatch(text) is not None


@dataclass(frozen=True)
class Kept:
    scenario: str
    role: str
    where: str
    reason: str
    source: str
    ours: str = "*"
    real: str = "*"

    def matches(self, difference: Difference) -> bool:
        return (fnmatchcase(difference.scenario, self.scenario)
                and fnmatchcase(difference.role, self.role)
                and fnmatchcase(difference.where, self.where)
                and fnmatchcase(str(difference.ours), self.ours)
                and fnmatchcase(str(difference.real), self.real))


def load(files: tuple[Path, ...] = FILES) -> list[Kept]:
    kept = []
    for path in files:
        if not path.exists():
            continue
        for entry in tomllib.loads(path.read_text()).get("kept", []):
            if not entry.get("reason"):
                raise ValueError(f"{path.name}: a kept difference without a reason: {entry}")
            kept.append(Kept(entry["scenario"], entry.get("role", "*"),
                             entry.get("where", "*"), entry["reason"], path.parent.name,
                             entry.get("ours", "*"), entry.get("real", "*")))
    return kept


def reason_for(difference: Difference, kept: list[Kept]) -> Kept | None:
    return next((entry for entry in kept if entry.matches(difference)), None)
