"""Send each scenario, as each of its roles, to both sides, and diff the
normalised answers."""
from __future__ import annotations

from dataclasses import dataclass

import requests

from tests.compare import differ
from tests.compare.fixtures import FRESH, wait_task
from tests.compare.normalise import Answer, Normaliser
from tests.compare.scenarios import Scenario
from tests.compare.sides import Side


@dataclass
class Outcome:
    """One scenario as one role: both answers and where they differ."""

    scenario: Scenario
    role: str
    ours: Answer | None
    real: Answer | None
    differences: list[differ.Difference]


def _fill(value: object, values: dict[str, str]) -> object:
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, dict):
        return {_fill(k, values): _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def _values(side: Side, role: str) -> dict[str, str]:
    return {**side.ids, "role": role, "password": side.passwords["cmp-member"]}


def send(side: Side, scenario: Scenario, role: str) -> Answer:
    if scenario.fresh:
        side.ids["fresh"] = FRESH[scenario.fresh](side, role)
    values = _values(side, role)
    headers = {"Accept": "application/json", **side.headers(role),
               **_fill(scenario.headers, values)}   # type: ignore[dict-item]
    kwargs: dict = {}
    if scenario.data is not None:
        kwargs["data"] = scenario.data
    elif scenario.body is not None:
        kwargs["json"] = _fill(scenario.body, values)
    url = side.url(scenario.service, str(_fill(scenario.path, values)))
    response = requests.request(scenario.method, url, headers=headers, timeout=60,
                                allow_redirects=False, **kwargs)
    if scenario.method == "POST" and url.endswith("/import") and response.status_code == 202:
        _wait_for_import(side, url.removesuffix("/import"))
    secrets = {f"{name}_password": password for name, password in side.passwords.items()}
    normaliser = Normaliser({**{k: v for k, v in side.ids.items() if not k.startswith("_")},
                             **secrets},
                            {"identity": side.identity_url, "image": side.image_url,
                             **side.places})
    return normaliser.answer(response.status_code, dict(response.headers), response.content)


def _wait_for_import(side: Side, image_url: str) -> None:
    """An accepted import goes on in the server's background (Glance runs it
    in a thread of the API process, writing to its SQLite database): wait
    until its task has ended, so that the next request does not race it
    (Glance then answers 500 'database is locked')."""
    wait_task(side, image_url.rsplit("/", 1)[-1])


def run(scenario: Scenario, role: str, ours: Side, real: Side) -> Outcome:
    answers: dict[str, Answer | None] = {}
    failures = []
    for side in (real, ours):
        try:
            answers[side.name] = send(side, scenario, role)
        except (RuntimeError, requests.RequestException, KeyError, ValueError) as exc:
            answers[side.name] = None
            failures.append((side.name, f"{type(exc).__name__}: {exc}"))
    found: list[tuple[str, object, object]] = []
    if failures:
        found = [("fixture", dict(failures).get("ours"), dict(failures).get("real"))]
    else:
        found = differ.compare(answers["ours"], answers["real"],  # type: ignore[arg-type]
                               scenario.method)
    return Outcome(scenario, role, answers["ours"], answers["real"],
                   [differ.Difference(scenario.id, role, where, o, r) for where, o, r in found])
