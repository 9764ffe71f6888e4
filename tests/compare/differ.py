"""Where two normalised answers differ: the status, a header, the body's
field names, their JSON types and their values.

Each difference has a `where` ("status", "header vary", "body
.image.name", "type .image.size", ...) that the kept list matches."""
from __future__ import annotations

from dataclasses import dataclass

from tests.compare.normalise import Answer

# Collections of resources: items are matched by one of these keys, so that
# the order of a list does not matter; items of one side only are reported
# when they are ours to compare (seeded names, placeholders).
ITEM_KEYS = ("name", "id", "member_id", "image_id", "namespace", "url")


@dataclass(frozen=True)
class Difference:
    scenario: str
    role: str
    where: str
    ours: object
    real: object


def _type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "number", float: "number", type(None): "null"}[type(value)]


def compare(ours: Answer, real: Answer, method: str = "GET") -> list[tuple[str, object, object]]:
    found: list[tuple[str, object, object]] = []
    if ours.status != real.status:
        found.append(("status", ours.status, real.status))
    for name in sorted(set(ours.headers) | set(real.headers)):
        if name == "content-length" and ("<json length>" in (
                ours.headers.get(name), real.headers.get(name)) or method == "HEAD"):
            continue  # the length of a JSON body (or HEAD's unsent one) says nothing
        if ours.headers.get(name) != real.headers.get(name):
            found.append((f"header {name}", ours.headers.get(name), real.headers.get(name)))
    if (ours.json is None) != (real.json is None):
        found.append(("body kind", "json" if ours.json is not None else ours.text,
                      "json" if real.json is not None else real.text))
    elif ours.json is not None:
        _walk(ours.json, real.json, "", found)
    elif ours.text != real.text:
        found.append(("body text", ours.text, real.text))
    return found


def _walk(ours: object, real: object, path: str, found: list) -> None:
    if _type(ours) != _type(real):
        found.append((f"type {path or '.'}", _type(ours), _type(real)))
        return
    if isinstance(ours, dict) and isinstance(real, dict):
        for key in sorted(set(ours) | set(real)):
            if key not in real:
                found.append((f"field {path}.{key}", "present", "absent"))
            elif key not in ours:
                found.append((f"field {path}.{key}", "absent", "present"))
            else:
                _walk(ours[key], real[key], f"{path}.{key}", found)
    elif isinstance(ours, list) and isinstance(real, list):
        _walk_list(ours, real, path, found)
    elif ours != real:
        found.append((f"body {path or '.'}", ours, real))


def _item_key(item: object) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("links"), dict) \
            and isinstance(item["links"].get("assignment"), str):
        return f"assignment={item['links']['assignment']}"   # a role assignment
    if isinstance(item, dict):
        for key in ITEM_KEYS:
            if isinstance(item.get(key), str):
                return f"{key}={item[key]}"
    return None


def _ours_to_compare(key: str) -> bool:
    return "cmp-" in key or "CMP" in key or "<" in key or key in (
        "name=admin", "name=member", "name=reader")


def _walk_list(ours: list, real: list, path: str, found: list) -> None:
    ours_keys = [_item_key(item) for item in ours]
    real_keys = [_item_key(item) for item in real]
    if None in ours_keys or None in real_keys or len(set(ours_keys)) != len(ours_keys) \
            or len(set(real_keys)) != len(real_keys):
        # plain values, or items without a key of their own: compare in a
        # stable order (the order of a list is not the API's behaviour)
        ours_sorted, real_sorted = sorted(ours, key=repr), sorted(real, key=repr)
        if ours_sorted == real_sorted:
            return
        if not all(isinstance(i, dict) for i in ours + real):
            found.append((f"body {path}", ours, real))
            return
        if len(ours) != len(real):
            found.append((f"length {path}", len(ours), len(real)))
        for index, (mine, theirs) in enumerate(zip(ours_sorted, real_sorted, strict=False)):
            _walk(mine, theirs, f"{path}[{index}]", found)
        return
    by_ours = dict(zip(ours_keys, ours, strict=True))
    by_real = dict(zip(real_keys, real, strict=True))
    for key in sorted(set(by_ours) | set(by_real)):
        if key not in by_real:
            if _ours_to_compare(key):
                found.append((f"item {path}[{key}]", "present", "absent"))
        elif key not in by_ours:
            if _ours_to_compare(key):
                found.append((f"item {path}[{key}]", "absent", "present"))
        else:
            _walk(by_ours[key], by_real[key], f"{path}[{key}]", found)
