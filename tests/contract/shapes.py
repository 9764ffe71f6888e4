"""The shape of a JSON document: every field's path and JSON type, so that
one of our answers can be compared with an upstream API sample field by
field ("no more, no fewer") and type by type.

Paths: `server.flavor.id`; a list's items share one path, `servers[].id`; a
map whose keys are data (metadata, extra specs, addresses by network name)
is named in `free` and its keys become `*`: `server.metadata.*`.
"""
from __future__ import annotations

import copy
from collections import defaultdict


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(document, free: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """path -> the JSON types seen there (several when a list's items differ)."""
    found: dict[str, set[str]] = defaultdict(set)

    def walk(value, path: str) -> None:
        found[path].add(json_type(value))
        if isinstance(value, dict):
            for key, item in value.items():
                name = "*" if path in free else key
                walk(item, f"{path}.{name}" if path else name)
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]")

    walk(document, "")
    found.pop("", None)
    return dict(found)


def differences(ours, sample, free: tuple[str, ...] = ()) -> list[str]:
    """What differs between our answer and the sample, one line each:
    `extra: <path>` (ours has it, the sample not), `missing: <path>`, and
    `type: <path> ours <types> sample <types>`. A null on either side is no
    type difference (a field the sample shows null may hold a value, and
    the schema check says where null is allowed)."""
    mine, theirs = shape(ours, free), shape(sample, free)
    # A map of data that is empty in the sample says nothing of its entries.
    for path in free:
        entries = f"{path}.*" if path else "*"
        if theirs.get(path) == {"object"} and not any(
                p == entries or p.startswith(entries + ".") or p.startswith(entries + "[]")
                for p in theirs):
            mine = {p: t for p, t in mine.items()
                    if not (p == entries or p.startswith((entries + ".", entries + "[]")))}
    lines = [f"extra: {path}" for path in _tops(mine.keys() - theirs.keys())]
    lines += [f"missing: {path}" for path in _tops(theirs.keys() - mine.keys())]
    for path in sorted(mine.keys() & theirs.keys()):
        a, b = mine[path] - {"null"}, theirs[path] - {"null"}
        if a and b and a != b:
            lines.append(f"type: {path} ours {'/'.join(sorted(a))} "
                         f"sample {'/'.join(sorted(b))}")
    return lines


def _tops(paths: set[str]) -> list[str]:
    """The paths whose parent is not in the set too (a missing object is one
    line, not one per field inside it)."""
    return sorted(path for path in paths
                  if not any(path.startswith((other + ".", other + "[]"))
                             for other in paths if other != path))


def sample_body(source, relative: str, **changes) -> dict:
    """An upstream sample request body with some fields changed, e.g.
    `**{"server.name": "x"}`; None takes a field out."""
    body = copy.deepcopy(source.sample(relative))
    for dotted, value in changes.items():
        target = body
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[key]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return body
