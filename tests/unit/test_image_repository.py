"""imaged's data access layer against real databases: the SQLite file imaged
uses by default, and a real PostgreSQL server started for these tests
(a throwaway cluster made with initdb and pg_ctl as the postgres user, on
127.0.0.1 and a free port). Both run the same Alembic migrations."""
from __future__ import annotations

import datetime as dt
import glob
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import inspect, select

from imaged.db.migrate import upgrade
from imaged.db.repository import DuplicateImage, DuplicateMember, Notice, StaleImage
from imaged.db.sql import SqlImageRepository
from imaged.domain.image import Caller, Image, Location, Member, utcnow
from imaged.domain.listing import parse_query
from shared.db import make_engine, session_factory
from shared.events import Event, Notifier

#: The page of images (properties and tags joined in), then their locations.
STATEMENTS_PER_PAGE = 2


def postgres_binary(name: str) -> str:
    """Debian's PostgreSQL binaries; the Makefile installs them, so their
    absence is a failure of the set-up, never a reason to skip."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(
        f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL cluster of the test session's own, removed afterwards."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("the postgres user does not exist (apt-get install postgresql)")
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="pocketstack-pg-"))
    shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    as_postgres(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    as_postgres(pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", pg_ctl, "-D", str(data), "-m",
                        "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'imaged.sqlite'}"
        engine = make_engine(url)
    else:
        base = make_engine(request.getfixturevalue("postgres_url"))
        name = "imaged_" + uuid.uuid4().hex[:10]
        with base.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        base.dispose()
        engine = make_engine(request.getfixturevalue("postgres_url").rsplit("/", 1)[0]
                             + "/" + name)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def repo(engine) -> SqlImageRepository:
    sessions = session_factory(engine)
    return SqlImageRepository(sessions, Notifier("imaged", sessions))


def image(owner: str = "p1", **values) -> Image:
    return Image(id=str(uuid.uuid4()), owner=owner, **values)


def query(project: str = "p1", admin: bool = False, **params):
    return parse_query(list(params.items()), Caller(project, is_admin=admin),
                       default_limit=25, max_limit=1000)


def test_migrations_create_the_tables_and_run_twice(engine):
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"images", "image_properties", "image_tags", "image_members", "image_locations",
            "imaged_alembic_version", "events"} <= tables
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("images")}
    assert {"ix_images_created_id", "ix_images_owner_created"} <= indexes


def test_create_get_round_trip_with_details_and_event(repo, engine):
    made = image(name="cirros", disk_format="qcow2", container_format="bare", min_ram=64,
                 properties={"os_distro": "cirros", "long": "x" * 5000}, tags=["b", "a"],
                 locations=[Location("file:///x/1", {"store": "file"})])
    repo.create(made, [Notice("image.create", made.id, {"name": "cirros"}, project_id="p1")])
    got = repo.get(made.id)
    assert got.properties == made.properties and got.tags == ["b", "a"]
    assert got.locations == [Location("file:///x/1", {"store": "file"})]
    assert (got.name, got.disk_format, got.min_ram, got.status) == ("cirros", "qcow2", 64,
                                                                      "queued")
    with session_factory(engine)() as session:
        events = session.scalars(select(Event).where(Event.resource_id == made.id)).all()
    assert [e.event_type for e in events] == ["image.create"]
    with pytest.raises(DuplicateImage):
        repo.create(made)
    assert repo.get(str(uuid.uuid4())) is None


def test_save_replaces_details_and_compares_status(repo):
    made = repo.create(image(properties={"a": "1"}, tags=["t"]))
    made.properties = {"b": "2"}
    made.tags = ["u", "v"]
    made.name = "renamed"
    repo.save(made, expected_status="queued")
    got = repo.get(made.id)
    assert (got.properties, got.tags, got.name) == ({"b": "2"}, ["u", "v"], "renamed")
    with pytest.raises(StaleImage) as stale:
        repo.save(made, expected_status="active")
    assert stale.value.actual_status == "queued"


def test_set_status_is_a_compare_and_set(repo):
    made = repo.create(image())
    saving = repo.set_status(made.id, ["queued"], "saving")
    assert saving.status == "saving"
    with pytest.raises(StaleImage):
        repo.set_status(made.id, ["queued"], "saving")   # a second upload loses
    active = repo.set_status(made.id, ["saving"], "active",
                             {"size": 10, "checksum": "c" * 32,
                              "locations": [Location("file:///x/2", {})]})
    assert (active.size, active.checksum, active.locations[0].url) == (10, "c" * 32,
                                                                        "file:///x/2")


def test_usage_counts_what_a_project_keeps(repo):
    for size in (10, 20, None):
        made = repo.create(image(owner="counted"))
        if size:
            repo.set_status(made.id, ["queued"], "active", {"size": size})
    gone = repo.create(image(owner="counted"))
    repo.set_status(gone.id, ["queued"], "deleted", {"deleted_at": utcnow()})
    usage = repo.usage("counted")
    assert (usage.images, usage.stored_bytes) == (3, 30)


def test_visibility_rules_of_the_list(repo):
    own_private = repo.create(image("me", visibility="private"))
    public = repo.create(image("other", visibility="public"))
    others_private = repo.create(image("other", visibility="private"))
    community = repo.create(image("other", visibility="community"))
    shared_pending = repo.create(image("other"))
    shared_accepted = repo.create(image("other"))
    repo.add_member(Member(shared_pending.id, "me"))
    repo.add_member(Member(shared_accepted.id, "me", status="accepted"))
    def ids(**p):
        return {i.id for i in repo.list_images(query("me", **p))}

    assert ids() == {own_private.id, public.id, shared_accepted.id}
    assert ids(visibility="community") == {community.id}
    assert ids(member_status="pending") == {own_private.id, public.id, shared_pending.id}
    assert ids(visibility="all", member_status="all") == {
        own_private.id, public.id, community.id, shared_pending.id, shared_accepted.id}
    admin = {i.id for i in repo.list_images(query("root", admin=True, visibility="all"))}
    assert others_private.id in admin


def test_filters_sorting_and_keyset_paging(repo):
    made = []
    for index, name in enumerate(["d", "a", None, "c", "b"]):
        made.append(repo.create(image("pager", name=name, tags=["pg"] + (["odd"] if index % 2
                                                                         else []),
                                      properties={"n": str(index)},
                                      disk_format="raw" if index < 3 else "qcow2")))
        if index == 4:
            repo.set_status(made[-1].id, ["queued"], "active", {"size": 100})
    newest_first = [i.id for i in repo.list_images(query("pager"))]
    assert newest_first == [i.id for i in reversed(made)]
    by_name = []
    marker = None
    while True:
        page = repo.list_images(query("pager", sort="name:asc", limit="2"), marker)
        by_name += [i.name for i in page]
        if len(page) < 2:
            break
        marker = page[-1]
    assert by_name == [None, "a", "b", "c", "d"]
    assert [i.name for i in repo.list_images(query("pager", tag="odd"))] == ["c", "a"]
    assert [i.name for i in repo.list_images(query("pager", n="3"))] == ["c"]
    assert [i.name for i in repo.list_images(query("pager", disk_format="qcow2",
                                            sort="name:desc"))] == ["c", "b"]
    assert [i.name for i in repo.list_images(query("pager", size_min="50"))] == ["b"]
    assert [i.name for i in repo.list_images(query("pager", name="in:a,b",
                                            sort="name:asc"))] == ["a", "b"]


def test_times_filter(repo):
    old = repo.create(image("timed", created_at=dt.datetime(2020, 1, 1)))
    new = repo.create(image("timed", created_at=dt.datetime(2030, 1, 1)))
    assert [i.id for i in repo.list_images(query("timed", created_at="gt:2025-01-01T00:00:00Z"))] \
        == [new.id]
    assert [i.id for i in repo.list_images(query("timed", created_at="lte:2020-01-01T00:00:00Z"))] \
        == [old.id]


def test_tags_and_members(repo):
    made = repo.create(image(tags=["a"]))
    repo.add_tag(made.id, "b")
    repo.add_tag(made.id, "b")
    assert repo.get(made.id).tags == ["a", "b"]
    assert repo.delete_tag(made.id, "a") and not repo.delete_tag(made.id, "zzz")
    member = repo.add_member(Member(made.id, "p2"))
    with pytest.raises(DuplicateMember):
        repo.add_member(Member(made.id, "p2"))
    member.status = "accepted"
    repo.update_member(member)
    assert repo.get_member(made.id, "p2").status == "accepted"
    assert [m.member_id for m in repo.list_members(made.id)] == ["p2"]
    assert repo.delete_member(made.id, "p2") and repo.get_member(made.id, "p2") is None


def test_pending_delete_query_of_the_scrubber(repo):
    made = repo.create(image())
    repo.set_status(made.id, ["queued"], "active", {"size": 1})
    long_ago = utcnow() - dt.timedelta(hours=2)
    repo.set_status(made.id, ["active"], "pending_delete", {"deleted_at": long_ago})
    recent = repo.create(image())
    repo.set_status(recent.id, ["queued"], "active")
    repo.set_status(recent.id, ["active"], "pending_delete", {"deleted_at": utcnow()})
    due = repo.pending_delete_before(utcnow() - dt.timedelta(hours=1), 10)
    assert [i.id for i in due] == [made.id]


def test_a_page_of_25_among_thousands_is_a_few_statements(repo, engine):
    """A page of 25 among 3000 images is a fixed few statements, whatever
    the number of images and their properties and tags (no query per
    image); how fast it is, bench/image_io.py measures (10,000 images)."""
    from imaged.db.models import ImageRow, PropertyRow, TagRow
    now = utcnow()
    rows = [{"id": str(uuid.uuid4()), "owner": f"bulk{i % 30}", "status": "active",
             "visibility": "private" if i % 3 else "public", "protected": False,
             "os_hidden": False, "min_disk": 0, "min_ram": 0, "name": f"img{i}",
             "created_at": now - dt.timedelta(seconds=i), "updated_at": now}
            for i in range(3000)]
    with engine.begin() as conn:
        conn.execute(ImageRow.__table__.insert(), rows)
        conn.execute(PropertyRow.__table__.insert(),
                     [{"image_id": r["id"], "name": "k", "value": "v"} for r in rows])
        conn.execute(TagRow.__table__.insert(),
                     [{"image_id": r["id"], "value": "t", "position": 0} for r in rows])
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    try:
        page = repo.list_images(query("bulk7"))
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)
    assert len(page) == 25 and all(i.properties == {"k": "v"} for i in page)
    assert all(i.tags == ["t"] for i in page)
    assert len(statements) <= STATEMENTS_PER_PAGE, statements
