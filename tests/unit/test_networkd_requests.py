"""How networkd reads request bodies and list queries: Neutron's attribute
checks and messages (networkd.attributes), its filters, tags filters,
sorting and paging (networkd.listing)."""
from __future__ import annotations

import pytest

from networkd import listing
from networkd.attributes import (
    Attr,
    HTTPBadRequest,
    boolean,
    ip_address,
    mac_address,
    parse_create,
    parse_update,
    subnet_cidr,
)
from networkd.errors import TenantIdProjectIdFilterConflict

ATTRS = {"name": Attr(lambda v: v, default=""), "flag": Attr(boolean, default=True),
         "cidr": Attr(subnet_cidr, required=True, put=False)}


def test_bodies_in_neutrons_words():
    assert parse_create("thing", {"thing": {"cidr": "10.0.0.0/24"}}, ATTRS) == \
        {"name": "", "flag": True, "cidr": "10.0.0.0/24"}
    cases = [
        ({"other": {}}, "Unable to find 'thing' in request body"),
        ({"thing": {"cidr": "10.0.0.0/24", "x": 1}}, "Unrecognized attribute(s) 'x'"),
        ({"thing": {}}, "Failed to parse request. Required attribute 'cidr' not specified"),
        ({"thing": {"cidr": "10.0.0.0/24", "flag": "maybe"}},
         "Invalid input for flag. Reason: 'maybe' cannot be converted to boolean."),
    ]
    for body, message in cases:
        with pytest.raises(HTTPBadRequest) as caught:
            parse_create("thing", body, ATTRS)
        assert caught.value.message == message and caught.value.status == 400
    assert parse_update("thing", {"thing": {"flag": "false"}}, ATTRS) == {"flag": False}
    with pytest.raises(HTTPBadRequest, match="Cannot update read-only attribute cidr"):
        parse_update("thing", {"thing": {"cidr": "10.0.0.0/24"}}, ATTRS)


def test_converters():
    assert ip_address("10.0.0.1") == "10.0.0.1"
    for bad in ("10.0.0", "::1", 5, None):
        with pytest.raises(ValueError, match="is not a valid IP address"):
            ip_address(bad)
    with pytest.raises(ValueError, match="'10.0.0.1/24' isn't a recognized IP subnet cidr, "
                                         "'10.0.0.0/24' is recommended"):
        subnet_cidr("10.0.0.1/24")
    assert mac_address("FA-16-3E-00-00-01") == "fa:16:3e:00:00:01"
    for bad in ("01:00:00:00:00:00", "00:00:00:00:00:00", "fa:16:3e"):
        with pytest.raises(ValueError):
            mac_address(bad)


ITEMS = [
    {"id": "a", "name": "one", "shared": False, "router:external": True, "tags": ["x", "y"],
     "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}], "security_groups": ["g"]},
    {"id": "b", "name": "two", "shared": True, "router:external": False, "tags": ["y"],
     "fixed_ips": [{"subnet_id": "s2", "ip_address": "10.0.1.5"}], "security_groups": []},
    {"id": "c", "name": "one", "shared": False, "router:external": False, "tags": [],
     "fixed_ips": [], "security_groups": ["g", "h"]},
]


def ids(**args) -> list[str]:
    query = listing.Query({k: v if isinstance(v, list) else [v] for k, v in args.items()})
    return [item["id"] for item in listing.select(ITEMS, query)[0]]


def test_filters_as_neutron_reads_them():
    assert ids(name="one") == ["a", "c"]
    assert ids(name=["one", "two"]) == ["a", "b", "c"]
    assert ids(shared="True") == ["b"] and ids(shared="false") == ["a", "c"]
    assert ids(**{"router:external": "1"}) == ["a"]
    assert ids(fixed_ips="ip_address=10.0.1.5") == ["b"]
    assert ids(fixed_ips=["subnet_id=s1", "ip_address=10.0.0.5"]) == ["a"]
    assert ids(fixed_ips=["subnet_id=s1", "ip_address=10.0.1.5"]) == []
    assert ids(fixed_ips="ip_address_substr=10.0.") == ["a", "b"]
    assert ids(security_group_ids="h") == ["c"]
    assert ids(tags="x,y") == ["a"] and ids(**{"tags-any": "x,y"}) == ["a", "b"]
    assert ids(**{"not-tags": "y"}) == ["c"] and ids(**{"not-tags-any": "x"}) == ["b", "c"]
    assert ids(unknown_field="z") == ["a", "b", "c"]
    with pytest.raises(TenantIdProjectIdFilterConflict):
        ids(project_id="p", tenant_id="p")


def test_sorting_paging_and_fields():
    assert ids(sort_key="name", sort_dir="desc") == ["b", "a", "c"]
    page, marker = listing.select(ITEMS, listing.Query({"limit": ["2"]}))
    assert [i["id"] for i in page] == ["a", "b"] and marker == "b"
    page, marker = listing.select(ITEMS, listing.Query({"limit": ["2"], "marker": ["b"]}))
    assert [i["id"] for i in page] == ["c"] and marker is None
    page, _ = listing.select(ITEMS, listing.Query({"fields": ["id", "name"], "limit": ["1"]}))
    assert page == [{"id": "a", "name": "one"}]
    for bad in ({"limit": ["x"]}, {"sort_key": ["nope"]}, {"sort_key": ["id"],
                                                          "sort_dir": ["up"]}):
        with pytest.raises(HTTPBadRequest):
            listing.select(ITEMS, listing.Query(bad))
