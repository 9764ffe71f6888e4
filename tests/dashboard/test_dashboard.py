"""The web dashboard in a real browser: Debian's Chromium, driven by
Playwright, against a real stack started by `pocketstack up`.

One walk through, in order (the tests of this module share the browser and
what they made): log in, every page, upload an image (progress shown, the
image becomes active), launch a server from it and watch the launch arrive
on the live timeline, a member of another project who can neither see nor
act on the first project's resources (pages and direct POSTs), terminate,
log out (the token is revoked). All along, every page's HTML and every URL
the browser asked for is kept, and no token or password may be in them.

One server is booted, once. A screenshot of each page is written under the
test run's temporary directory (printed at the end of the module).
"""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, sync_playwright

from shared.timeutil import parse_iso
from tests.stack import pocketstack
from tests.support.compute import BOOT_TIMEOUT, Compute, Images, Volumes, unique, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# What a Fernet token looks like (base64url of version byte 0x80 + time).
FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}")
PAGE_TIMEOUT_MS = 60_000


@dataclass
class Seen:
    """Everything the browser was shown or asked for, to look for secrets."""
    urls: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


@dataclass
class Walk:
    """What one test leaves to the next, and what to delete at the end."""
    image_id: str = ""
    server_id: str = ""
    volume_id: str = ""
    images: list[str] = field(default_factory=list)


class Browser:
    """One Chromium profile (its own user data dir, its own cookies)."""

    def __init__(self, playwright, profile: Path, base_url: str, seen: Seen,
                 screenshots: Path):
        self.context: BrowserContext = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.context.on("request", lambda request: seen.urls.append(request.url))
        self.page: Page = self.context.pages[0] if self.context.pages \
            else self.context.new_page()
        self.base_url, self.seen, self.screenshots = base_url, seen, screenshots

    def open(self, path: str) -> int:
        response = self.page.goto(self.base_url + path)
        assert response is not None
        self.keep()
        return response.status

    def keep(self) -> None:
        """Remember the page's HTML as it is now (to look for secrets)."""
        self.seen.pages[f"{self.page.url} #{len(self.seen.pages)}"] = self.page.content()

    def shot(self, name: str) -> None:
        self.keep()
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    def log_in(self, user: str, password: str, project: str) -> None:
        self.open("/login")
        self.page.fill("input[name=user]", user)
        self.page.fill("input[name=password]", password)
        self.page.fill("input[name=project]", project)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_selector("header nav")
        self.keep()

    def csrf_token(self) -> str:
        return self.page.locator("input[name=csrf_token]").first.get_attribute("value") or ""

    def post(self, path: str, fields: dict[str, str]) -> dict:
        """A POST made by the page's own JavaScript (same origin, its cookie),
        as a hand-made form would: the answer's status and where it led."""
        return self.page.evaluate(
            """async ([path, fields]) => {
                 const response = await fetch(path, {method: "POST",
                     body: new URLSearchParams(fields), redirect: "follow"});
                 return {status: response.status, url: response.url,
                         text: await response.text()};
               }""", [path, fields])

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def seen() -> Seen:
    return Seen()


@pytest.fixture(scope="module")
def walk(stack) -> Iterator[Walk]:
    made = Walk()
    yield made
    token = stack.token("demo")
    for image_id in made.images:
        Images(stack, token).delete(image_id)
    if made.volume_id:
        Volumes(stack, token, _project_id(stack, token)).delete(made.volume_id)


def _project_id(stack, token: str) -> str:
    return requests.get(f"{stack.url('identity')}/v3/auth/tokens", timeout=30, headers={
        "X-Auth-Token": token, "X-Subject-Token": token}).json()["token"]["project"]["id"]


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("dashboard-screenshots")
    yield directory
    print(f"\ndashboard screenshots: {directory}")


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def demo_browser(playwright, stack, seen, screenshots, tmp_path_factory) -> Iterator[Browser]:
    seen.secrets.append(stack.password("demo"))
    browser = Browser(playwright, tmp_path_factory.mktemp("chromium-demo"),
                      stack.url("dashboard"), seen, screenshots)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def other_user(stack, seen) -> Iterator[dict[str, str]]:
    """A member of another project, made with the real client as admin."""
    name, password = unique("dash-other"), secrets.token_urlsafe(16)
    seen.secrets.append(password)
    stack.openstack("project", "create", name, cloud="pocketstack-admin")
    _create_user(stack, name, password)
    stack.openstack("role", "add", "--project", name, "--user", name, "member",
                    cloud="pocketstack-admin")
    yield {"user": name, "password": password, "project": name}
    stack.openstack("user", "delete", name, cloud="pocketstack-admin", check=False)
    stack.openstack("project", "delete", name, cloud="pocketstack-admin", check=False)


def _create_user(stack, name: str, password: str) -> None:
    """The password through the identity API (never in a command line)."""
    token = stack.token("admin")
    project = requests.get(f"{stack.url('identity')}/v3/projects", params={"name": name},
                           headers={"X-Auth-Token": token}, timeout=30).json()["projects"][0]
    response = requests.post(f"{stack.url('identity')}/v3/users", headers={
        "X-Auth-Token": token}, json={"user": {"name": name, "password": password,
                                               "default_project_id": project["id"],
                                               "domain_id": "default"}}, timeout=30)
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def demo_api(stack) -> Iterator[Compute]:
    client = Compute(stack, "demo")
    yield client
    client.cleanup()


@pytest.fixture(scope="module")
def image_file(stack, tmp_path_factory) -> Path:
    """The tiny image's data, downloaded with the real client: what the
    browser uploads (and what the launch then boots)."""
    path = tmp_path_factory.mktemp("upload") / "tiny.qcow2"
    stack.openstack("image", "save", "--file", str(path), "pocketstack-tiny")
    assert path.stat().st_size > 1 << 20
    return path


def test_the_dashboard_is_in_the_catalog_and_in_the_status(stack):
    shown = stack.openstack("catalog", "show", "dashboard", "-f", "json")
    assert '"type": "dashboard"' in shown.stdout
    assert f"{stack.url('dashboard')}/" in shown.stdout
    status = pocketstack(stack.state_dir, "status", check=False).stdout
    assert re.search(rf"^dashboard\s+up\s+{stack.port('dashboard')}\s+\d+", status, re.M), status


def test_a_login_leads_to_every_page(demo_browser, stack):
    browser = demo_browser
    assert browser.open("/servers") == 200
    assert browser.page.url.endswith("/login"), "a page without a session leads to the login"
    browser.shot("01-login")
    browser.log_in("demo", stack.password("demo"), "demo")
    assert "demo · project demo" in browser.page.inner_text("header")
    pages = {"/": "Project demo", "/images": "pocketstack-tiny", "/servers": "Servers",
             "/servers/launch": "m1.nano", "/volumes": "Create a volume",
             "/flavors": "m1.small", "/networks": "private", "/timeline": "What is happening"}
    for number, (path, expected) in enumerate(pages.items(), start=2):
        assert browser.open(path) == 200, path
        assert expected in browser.page.inner_text("main"), path
        if path in ("/", "/timeline"):
            browser.page.wait_for_selector("#timeline-state.on")
        browser.shot(f"{number:02d}-{path.strip('/').replace('/', '-') or 'overview'}")
    # A member does not see the host's resources: the page says policy hides them.
    browser.open("/")
    assert "not visible to your role" in browser.page.inner_text("main")


def test_an_upload_shows_its_progress_and_the_image_becomes_active(demo_browser, image_file,
                                                                    walk):
    browser = demo_browser
    browser.open("/images")
    name = unique("dash-upload")
    browser.page.fill("#upload input[name=name]", name)
    browser.page.select_option("#upload select[name=disk_format]", "qcow2")
    browser.page.set_input_files("#upload input[name=file]", str(image_file))
    browser.page.click("#upload button[type=submit]")
    link = browser.page.wait_for_selector("#uploaded-image", timeout=120_000)
    progress = browser.page.locator("#upload-progress")
    assert int(progress.get_attribute("data-events") or 0) >= 1, "no progress event shown"
    assert browser.page.eval_on_selector("#upload-progress progress", "p => p.value") == 100
    browser.shot("10-upload-done")
    link.click()
    browser.page.wait_for_selector("#image-status")
    walk.image_id = browser.page.url.rstrip("/").rsplit("/", 1)[-1]
    walk.images.append(walk.image_id)
    assert browser.page.inner_text("#image-status") == "active"
    assert browser.page.locator("svg.flow g.state.lit").get_attribute("data-status") == "active"
    assert browser.page.locator("svg.flow g.state").count() >= 8
    browser.shot("11-image")


def test_a_launch_is_watched_live_on_the_timeline(demo_browser, demo_api, walk):
    browser = demo_browser
    browser.open("/servers/launch")
    browser.page.fill("input[name=name]", unique("dash-vm"))
    browser.page.select_option("select[name=image_id]", walk.image_id)
    nano = browser.page.locator("select[name=flavor_id] option", has_text="m1.nano")
    browser.page.select_option("select[name=flavor_id]", nano.get_attribute("value"))
    browser.page.select_option("select[name=network_id]", label="private")
    browser.page.click("main button[type=submit]")
    browser.page.wait_for_selector("#server-status")
    walk.server_id = browser.page.url.rstrip("/").rsplit("/", 1)[-1]
    demo_api.made.append(walk.server_id)
    browser.page.wait_for_selector("#timeline-state.on")
    browser.shot("20-server-launching")
    launch_event = f"#timeline-events li[data-resource='{walk.server_id}']"
    browser.page.wait_for_selector(
        f"{launch_event}[data-type='compute.instance.create.end']", timeout=BOOT_TIMEOUT * 1000)
    arrived = browser.page.eval_on_selector_all(
        launch_event, "items => items.map(i => [i.dataset.type, Number(i.dataset.arrived)])")
    arrival = dict(arrived)
    assert "compute.instance.create.start" in arrival, arrived
    assert "compute.instance.domain.started" in arrival, arrived
    # Live: the steps reached the open page one after the other, not in one batch.
    assert arrival["compute.instance.create.end"] > arrival["compute.instance.create.start"]
    assert len({when for _, when in arrived}) >= 2, arrived
    browser.shot("21-server-launched-timeline")

    demo_api.wait_console(walk.server_id, r"^POCKETSTACK-BOOTED\s*$")
    browser.open(f"/servers/{walk.server_id}")
    assert browser.page.inner_text("#server-status") == "ACTIVE"
    devices = browser.page.eval_on_selector_all("table.disks tr[data-device]",
                                                "rows => rows.map(r => r.dataset.device)")
    assert devices[:2] == ["vda", "vdb"], devices
    assert re.search(r"private: \d+\.\d+\.\d+\.\d+", browser.page.inner_text("ul.addresses"))
    assert "POCKETSTACK-DISKS" in browser.page.inner_text("pre.console")
    browser.shot("22-server")


def devices_shown(browser: Browser, server_id: str) -> list[str]:
    browser.open(f"/servers/{server_id}")
    return browser.page.eval_on_selector_all("table.disks tr[data-device]",
                                             "rows => rows.map(r => r.dataset.device)")


def test_a_volume_is_attached_as_vdc_and_detached(demo_browser, walk):
    browser = demo_browser
    browser.open("/volumes")
    name = unique("dash-vol")
    browser.page.fill("main form input[name=name]", name)
    browser.page.click("main form button[type=submit]")
    row = browser.page.locator("tr[data-volume-id]", has_text=name)
    walk.volume_id = row.get_attribute("data-volume-id") or ""

    def available() -> bool:
        browser.open("/volumes")
        return "available" in row.inner_text()
    wait_for(available, 60, interval=1.0, what="the volume available")

    browser.open(f"/servers/{walk.server_id}")
    browser.page.select_option("select[name=volume_id]", walk.volume_id)
    browser.page.click("button:has-text('Attach volume')")
    assert "being attached as /dev/vdc" in browser.page.inner_text("p.message")
    wait_for(lambda: "vdc" in devices_shown(browser, walk.server_id), 120, interval=1.0,
             what="vdc on the server's page")
    assert walk.volume_id in browser.page.inner_text("tr[data-device=vdc]")

    def guest_reports_vdc() -> bool:
        browser.open(f"/servers/{walk.server_id}")
        return "vdc=" in browser.page.inner_text("pre.console")
    # The guest sees the new disk (it says so on its console, shown on the
    # page); only then is it ready to give it back on a detach.
    wait_for(guest_reports_vdc, BOOT_TIMEOUT, interval=2.0, what="vdc on the guest's console")
    browser.shot("23-server-with-vdc")
    browser.open("/volumes")
    assert "as /dev/vdc" in row.inner_text()
    browser.shot("24-volumes-attached")

    browser.open(f"/servers/{walk.server_id}")
    browser.page.click("tr[data-device=vdc] button:has-text('Detach')")
    wait_for(lambda: "vdc" not in devices_shown(browser, walk.server_id), 120, interval=1.0,
             what="vdc gone from the server's page")


def test_a_snapshot_becomes_an_active_image(demo_browser, walk):
    browser = demo_browser
    browser.open(f"/servers/{walk.server_id}")
    name = unique("dash-snap")
    browser.page.fill("input[placeholder='snapshot name']", name)
    browser.page.click("button:has-text('Snapshot')")
    browser.page.wait_for_selector("#image-status")
    snapshot_id = browser.page.url.rstrip("/").rsplit("/", 1)[-1]
    walk.images.append(snapshot_id)
    assert name in browser.page.inner_text("h1")

    def active() -> bool:
        browser.open(f"/images/{snapshot_id}")
        return browser.page.inner_text("#image-status") == "active"
    wait_for(active, 180, interval=1.0, what="the snapshot active")
    assert browser.page.locator("svg.flow g.state.lit").get_attribute("data-status") == "active"
    browser.shot("25-snapshot-image")


def test_an_admin_sees_the_hosts_resources(playwright, stack, seen, screenshots, walk,
                                           tmp_path_factory):
    seen.secrets.append(stack.password("admin"))
    browser = Browser(playwright, tmp_path_factory.mktemp("chromium-admin"),
                      stack.url("dashboard"), seen, screenshots)
    try:
        browser.log_in("admin", stack.password("admin"), "admin")
        browser.open("/")
        table = browser.page.inner_text("table.resources")
        used = re.search(r"vCPU\s+(\d+) / (\d+)", table)
        assert used and int(used.group(1)) >= 1 and int(used.group(2)) >= 1, table
        browser.shot("30-admin-overview")
    finally:
        browser.close()


def test_another_projects_member_can_neither_see_nor_act(playwright, stack, other_user, seen,
                                                         screenshots, walk, demo_api,
                                                         tmp_path_factory):
    browser = Browser(playwright, tmp_path_factory.mktemp("chromium-other"),
                      stack.url("dashboard"), seen, screenshots)
    try:
        browser.log_in(other_user["user"], other_user["password"], other_user["project"])
        browser.open("/servers")
        assert walk.server_id not in browser.page.content()
        browser.open("/images")
        assert walk.image_id not in browser.page.content()
        assert not [i for i in walk.images if i in browser.page.content()]
        browser.open("/volumes")
        assert walk.volume_id not in browser.page.content()
        browser.shot("40-other-project-volumes")
        assert browser.open(f"/servers/{walk.server_id}") == 404
        assert browser.open(f"/images/{walk.image_id}") == 404
        browser.shot("41-other-project-404")

        browser.open("/servers")
        csrf = browser.csrf_token()
        for action, fields in (("terminate", {}), ("snapshot", {"name": "stolen"}),
                               ("attach", {"volume_id": walk.server_id}),
                               (f"detach/{walk.server_id}", {})):
            answer = browser.post(f"/servers/{walk.server_id}/{action}",
                                  {"csrf_token": csrf, **fields})
            assert "Refused (404)" in answer["text"], (action, answer["text"][:2000])
        # Without the session's CSRF token a POST is refused before anything runs.
        assert browser.post(f"/servers/{walk.server_id}/terminate", {})["status"] == 403
        assert demo_api.show(walk.server_id)["status"] == "ACTIVE"
        assert not [e for e in demo_api.events(walk.server_id) if "delete" in e]
    finally:
        browser.close()


def test_a_terminate(demo_browser, demo_api, walk):
    browser = demo_browser
    browser.open("/servers")
    row = browser.page.locator(f"tr[data-server-id='{walk.server_id}']")
    row.locator("button", has_text="Terminate").click()
    browser.page.wait_for_selector("p.message")
    assert f"Server {walk.server_id} is being terminated" in browser.page.inner_text("body")
    wait_for(lambda: demo_api.call("GET", f"/servers/{walk.server_id}").status_code == 404,
             what="the server gone")
    browser.open("/timeline")
    browser.page.wait_for_selector(f"#timeline-events li[data-resource='{walk.server_id}']"
                                   f"[data-type^='compute.instance.delete']")
    browser.shot("50-after-terminate")
    browser.open("/servers")
    assert walk.server_id not in browser.page.content()


def test_logout_revokes_the_token(demo_browser, stack):
    browser = demo_browser
    started = time.time()
    browser.page.click("header .who button")
    browser.page.wait_for_selector("form.login")
    assert browser.open("/servers") == 200 and browser.page.url.endswith("/login")
    response = requests.get(f"{stack.url('identity')}/pocketstack/v1/events",
                            params={"type": "identity.token.revoked", "limit": 20},
                            headers={"X-Auth-Token": stack.token("admin")}, timeout=30)
    demo_id = requests.get(f"{stack.url('identity')}/v3/auth/tokens", headers={
        "X-Auth-Token": stack.token("admin"), "X-Subject-Token": stack.token("demo")},
        timeout=30).json()["token"]["user"]["id"]
    revoked = [e for e in response.json()["events"] if e["payload"].get("user_id") == demo_id
               and parse_iso(e["timestamp"]).timestamp() >= started - 1]
    assert revoked, response.text


def test_no_page_and_no_url_carries_a_secret(demo_browser, stack, seen):
    """Last: every page kept and every URL requested during the walk."""
    cookies = demo_browser.context.cookies()
    session_cookie = [c for c in cookies if c["name"] == "pocketstack_session"]
    assert session_cookie and session_cookie[0]["httpOnly"]
    assert session_cookie[0]["sameSite"] == "Strict"
    assert len(seen.pages) >= 15 and len(seen.urls) >= 30
    for secret in seen.secrets:
        assert secret
        assert not [url for url in seen.urls if secret in url]
        assert not [page for page, html in seen.pages.items() if secret in html]
    assert not [url for url in seen.urls if FERNET_TOKEN.search(url)]
    assert not [page for page, html in seen.pages.items() if FERNET_TOKEN.search(html)]
    log = (stack.state_dir / "log" / "dashboard.log").read_text()
    assert "logged in" in log
    assert not FERNET_TOKEN.search(log)
    assert not [secret for secret in seen.secrets if secret in log]


def test_chromium_is_debians():
    """The browser is the distribution's, not one Playwright downloaded."""
    assert shutil.which("chromium") == CHROMIUM
    owner = subprocess.run(["dpkg", "-S", CHROMIUM], capture_output=True, text=True)
    assert owner.returncode == 0 and owner.stdout.startswith("chromium"), owner.stdout
