"""imaged's rules without a server: the status machine, formats, JSON patch
parsing and list parameters."""
from __future__ import annotations

import pytest

from imaged.domain import status as st
from imaged.domain.errors import IllegalTransition, InvalidInput, WrongMediaType
from imaged.domain.formats import FormatRules
from imaged.domain.image import Caller, Image
from imaged.domain.listing import parse_query
from imaged.domain.patch import dialect_of, parse_changes
from imaged.domain.rules import ImageLimits, apply_changes
from shared.errors import BadRequest

FORMATS = FormatRules(("raw", "qcow2"), ("bare",))


def test_every_status_has_its_edges_and_deleted_is_terminal():
    assert set(st.TRANSITIONS) == set(st.ALL_STATUSES)
    assert st.TRANSITIONS[st.DELETED] == frozenset()
    assert st.can_change(st.SAVING, st.KILLED) and not st.can_change(st.QUEUED, st.KILLED)
    assert not st.can_change(st.KILLED, st.ACTIVE)
    assert st.can_change(st.QUEUED, st.UPLOADING) and st.can_change(st.UPLOADING, st.IMPORTING)
    assert st.can_change(st.IMPORTING, st.ACTIVE) and st.can_change(st.IMPORTING, st.QUEUED)


@pytest.mark.parametrize("current, expected", [
    (st.ACTIVE, st.DEACTIVATED), (st.DEACTIVATED, st.DEACTIVATED)])
def test_deactivate(current, expected):
    assert st.after_deactivate(current) == expected


@pytest.mark.parametrize("current", [st.QUEUED, st.SAVING, st.KILLED])
def test_illegal_actions_name_the_status(current):
    for action in (st.after_deactivate, st.after_reactivate):
        with pytest.raises(IllegalTransition, match=current):
            action(current)


@pytest.mark.parametrize("current", [st.SAVING, st.KILLED, st.ACTIVE, st.DEACTIVATED])
def test_data_goes_only_to_a_queued_image(current):
    with pytest.raises(IllegalTransition, match=current):
        st.require_uploadable("i", current)
    st.require_uploadable("i", st.QUEUED)


def test_delete_goes_to_pending_delete_only_with_data_and_delay():
    assert st.after_delete(st.ACTIVE, has_data=True, delayed_delete=True) == st.PENDING_DELETE
    assert st.after_delete(st.ACTIVE, has_data=True, delayed_delete=False) == st.DELETED
    assert st.after_delete(st.QUEUED, has_data=False, delayed_delete=True) == st.DELETED
    with pytest.raises(IllegalTransition):
        st.after_delete(st.PENDING_DELETE, has_data=True, delayed_delete=True)


def test_format_errors_list_the_allowed_values():
    with pytest.raises(InvalidInput, match="raw, qcow2"):
        FORMATS.check_disk_format("vmdk")
    FORMATS.check_disk_format(None)


def test_patch_media_types_and_documents():
    assert dialect_of("application/openstack-images-v2.1-json-patch; charset=utf-8") == "v2.1"
    with pytest.raises(WrongMediaType):
        dialect_of("application/json-patch+json")
    changes = parse_changes([{"op": "add", "path": "/a~1b", "value": "x"},
                             {"op": "remove", "path": "/locations/0"}], "v2.1")
    assert changes[0].path == ("a/b",) and changes[1].path == ("locations", "0")
    with pytest.raises(InvalidInput, match="exactly one"):
        parse_changes([{"add": "/a", "remove": "/b"}], "v2.0")


def test_apply_changes_leaves_the_original_alone():
    image = Image(id="i", owner="p", properties={"k": "v"})
    result = apply_changes(image, parse_changes([{"op": "replace", "path": "/k",
                                                  "value": "w"}], "v2.1"),
                           Caller("p"), FORMATS, ImageLimits(), locations_enabled=False,
                           check_location=None)
    assert result.image.properties == {"k": "w"} and image.properties == {"k": "v"}


def test_list_parameters_become_a_query():
    query = parse_query([("tag", "a"), ("tag", "b"), ("sort", "name:asc"), ("limit", "5000"),
                         ("os_distro", "debian"), ("created_at", "gte:2026-01-01T00:00:00Z")],
                        Caller("p"), default_limit=25, max_limit=1000)
    assert query.tags == ["a", "b"] and query.limit == 1000
    assert query.sort == [("name", "asc"), ("created_at", "asc"), ("id", "asc")]
    assert query.properties == {"os_distro": "debian"}
    assert {(f.attribute, f.op) for f in query.filters} >= {("created_at", "gte"),
                                                            ("os_hidden", "eq")}


def boolean_filter(key: str, value: str) -> bool:
    query = parse_query([(key, value)], Caller("p"), default_limit=25, max_limit=1000)
    return next(f.value for f in query.filters if f.attribute == key)


@pytest.mark.parametrize("key", ["os_hidden", "protected"])
@pytest.mark.parametrize("value, expected", [("true", True), ("False", False), ("yes", True),
                                             ("1", True), ("off", False), (" on ", True)])
def test_boolean_filters_take_the_words_of_the_one_boolean_parser(key, value, expected):
    assert boolean_filter(key, value) is expected


@pytest.mark.parametrize("key", ["os_hidden", "protected"])
@pytest.mark.parametrize("value", ["maybe", "", "2", "truee"])
def test_a_boolean_filter_that_is_no_boolean_is_a_400_naming_it(key, value):
    with pytest.raises(BadRequest) as refused:
        boolean_filter(key, value)
    assert refused.value.status == 400
    assert key in str(refused.value) and f"'{value}'" in str(refused.value)


def test_versions_without_the_cache_stop_at_2_17_and_skip_the_cache_ones():
    from imaged.api.versions import listed_versions
    ids = [version for version, _ in listed_versions(cache_enabled=False)]
    assert ids[0] == "v2.17" and "v2.14" not in ids and "v2.16" not in ids
    assert ids[-1] == "v2.0" and len(ids) == 16
    assert [status for _, status in listed_versions(False)].count("CURRENT") == 1
