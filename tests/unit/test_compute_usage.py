"""Nova's simple tenant usage arithmetic: the hours a server ran inside a
period, and the totals per project."""
from __future__ import annotations

import datetime as dt

import pytest

from computed.domain.usage import ServerRecord, hours_in, parse_period_time, tenant_usages

T0 = dt.datetime(2026, 12, 1, 0, 0)


def server(launched_h: float | None, terminated_h: float | None = None,
           project: str = "p1", name: str = "vm") -> ServerRecord:
    def at(hours: float | None) -> dt.datetime | None:
        return None if hours is None else T0 + dt.timedelta(hours=hours)
    return ServerRecord(id=f"id-{name}", name=name, project_id=project, flavor_name="m1.nano",
                        memory_mb=128, vcpus=1, local_gb=2, vm_state="active",
                        launched_at=at(launched_h), terminated_at=at(terminated_h))


@pytest.mark.parametrize("launched, terminated, hours", [
    (1, None, 9.0),       # launched inside the period, still running
    (-5, None, 10.0),     # launched before the period
    (2, 4, 2.0),          # came and went inside it
    (-5, -1, 0.0),        # gone before it began
    (None, None, 0.0),    # never launched (still building, or failed)
])
def test_hours_count_only_the_part_inside_the_period(launched, terminated, hours):
    assert hours_in(server(launched, terminated), T0, T0 + dt.timedelta(hours=10)) == hours


def test_totals_per_project_weigh_each_server_by_its_flavor():
    stop = T0 + dt.timedelta(hours=10)
    servers = [server(0, name="a"), server(5, 7, name="b"), server(-3, -1, name="gone"),
               server(0, project="p2", name="c")]
    usages = {u["tenant_id"]: u for u in tenant_usages(servers, T0, stop, stop, True)}
    p1 = usages["p1"]
    assert [s["name"] for s in p1["server_usages"]] == ["a", "b"]
    assert p1["total_hours"] == 12.0
    assert p1["total_memory_mb_usage"] == 128 * 12.0
    assert p1["total_vcpus_usage"] == 12.0 and p1["total_local_gb_usage"] == 24.0
    assert p1["server_usages"][1]["state"] == "terminated"
    assert p1["server_usages"][1]["uptime"] == 2 * 3600
    assert "server_usages" not in tenant_usages(servers, T0, stop, stop, False)[0]


def test_period_times_as_clients_send_them():
    assert parse_period_time("2026-11-07T02:13:45.123456", T0) == \
        dt.datetime(2026, 11, 7, 2, 13, 45, 123456)
    assert parse_period_time("2026-11-07T02:13:45", T0) == dt.datetime(2026, 11, 7, 2, 13, 45)
    assert parse_period_time(None, T0) == T0
    with pytest.raises(ValueError):
        parse_period_time("last tuesday", T0)
