"""The services' events as they arrive, for the class to watch.

Every service serves its events at GET /pocketstack/v1/events (at the root
of its endpoint, shared/events_api.py): the demo user sees its project's.
The feed asks each service for the events since the demo began and hands
back, oldest first, those it has not shown yet.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pocketstack.cloud import Cloud, CloudError

# The catalog types whose services record events, and a short name for each.
SOURCES = {"image": "imaged", "block-storage": "volumed", "network": "networkd",
           "compute": "computed"}
TIMEOUT = 10.0
# What a payload says about the state of its resource, most telling first.
STATE_KEYS = ("status", "new_task_state", "task_state", "state", "attach_status")
NAME_KEYS = ("display_name", "name")


@dataclass
class EventFeed:
    """The events of the services in `cloud`'s catalog since `since`."""
    cloud: Cloud
    since: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    seen: set[str] = field(default_factory=set)

    def new_events(self) -> list[tuple[str, dict]]:
        """(service, event) of each event not returned before, oldest first.
        A service that does not answer is skipped: events are a view, the
        demo goes on without them."""
        found = []
        since = (self.since - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        for service_type, name in SOURCES.items():
            if service_type not in self.cloud.endpoints:
                continue
            try:
                events = self._ask(service_type, since)
            except CloudError:
                continue
            for event in events:
                if event["id"] not in self.seen:
                    self.seen.add(event["id"])
                    found.append((name, event))
        return sorted(found, key=lambda pair: pair[1]["timestamp"])

    def _ask(self, service_type: str, since: str) -> list[dict]:
        parts = urlsplit(self.cloud.url(service_type, ""))
        url = f"{parts.scheme}://{parts.netloc}/pocketstack/v1/events"
        try:
            answer = self.cloud.http.get(url, params={"since": since, "limit": "1000"},
                                         timeout=TIMEOUT)
        except Exception as error:  # noqa: BLE001 (any transport problem: skip this round)
            raise CloudError(str(error)) from None
        if answer.status_code != 200:
            raise CloudError(f"HTTP {answer.status_code}")
        return list(answer.json().get("events", []))


def describe(service: str, event: dict) -> str:
    """One line: the time, the service, the event type and what it says."""
    payload = event.get("payload") or {}
    clock = event["timestamp"][11:19]
    name = next((str(payload[key]) for key in NAME_KEYS if payload.get(key)), "")
    state = next((f"{key}={payload[key]}" for key in STATE_KEYS if payload.get(key)), "")
    detail = "  ".join(part for part in (name, state) if part)
    return f"  event {clock} {service:<9} {event['event_type']:<38} {detail}".rstrip()
