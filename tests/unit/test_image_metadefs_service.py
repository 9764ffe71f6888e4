"""The metadefs calls without a server (imaged/metadefs/service.py), on a
real SQLite database migrated as imaged-api migrates its own."""
from __future__ import annotations

import pytest

from imaged.db.migrate import upgrade
from imaged.metadefs.seed import load_standard_definitions
from imaged.metadefs.service import Metadefs
from shared.context import RequestContext
from shared.db import make_engine, session_factory
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Notifier


@pytest.fixture
def metadefs(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'imaged.sqlite'}")
    upgrade(engine)
    sessions = session_factory(engine)
    load_standard_definitions(sessions)
    yield Metadefs(sessions, Notifier("imaged", sessions))
    engine.dispose()


def caller(project: str, *roles: str) -> RequestContext:
    return RequestContext(request_id="req-test", project_id=project,
                          roles=list(roles or ("member",)))


def test_a_private_namespace_is_not_found_by_another_project(metadefs):
    mine, other = caller("p1"), caller("p2")
    metadefs.create_namespace(mine, {"namespace": "Private::One", "visibility": "private"})
    assert metadefs.show_namespace(mine, "Private::One")["namespace"] == "Private::One"
    with pytest.raises(NotFound):
        metadefs.show_namespace(other, "Private::One")
    assert "Private::One" not in {n["namespace"] for n in metadefs.list_namespaces(other)}


def test_tags_replace_unless_appended_and_a_duplicate_is_a_conflict(metadefs):
    ctx = caller("p1")
    metadefs.create_namespace(ctx, {"namespace": "Tags::One"})
    metadefs.create_tags(ctx, "Tags::One", {"tags": [{"name": "a"}, {"name": "b"}]},
                         append=False)
    metadefs.create_tags(ctx, "Tags::One", {"tags": [{"name": "c"}]}, append=True)
    assert [t["name"] for t in metadefs.list_tags(ctx, "Tags::One")] == ["a", "b", "c"]
    metadefs.create_tags(ctx, "Tags::One", {"tags": [{"name": "d"}]}, append=False)
    assert [t["name"] for t in metadefs.list_tags(ctx, "Tags::One")] == ["d"]
    with pytest.raises(Conflict):
        metadefs.create_tags(ctx, "Tags::One", {"tags": [{"name": "d"}]}, append=True)


def test_a_protected_namespace_cannot_be_deleted_or_emptied(metadefs):
    ctx = caller("p1")
    metadefs.create_namespace(ctx, {"namespace": "Kept::One", "protected": True})
    with pytest.raises(Forbidden):
        metadefs.delete_namespace(ctx, "Kept::One")
    with pytest.raises(Forbidden):
        metadefs.empty_namespace(ctx, "Kept::One", "tags")
    assert metadefs.show_namespace(ctx, "Kept::One")["protected"] is True
