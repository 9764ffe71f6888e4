"""Footprint and speed benchmark: prints one JSON document of figures.

    .venv/bin/python -m bench.footprint [--cycles 3] [--samples 3] [--idle 5]
                                        [--image-mib 512]

Starts a fresh stack with the default config in a temporary state directory
on shifted ports ($POCKETSTACK_TEST_PORT_BASE, as the tests), then measures:
- `pocketstack up` on a fresh state directory (keys, config files, identity's
  seed, the tiny image registered; its build reused from
  $POCKETSTACK_IMAGE_CACHE), then --cycles times `pocketstack down` and
  `pocketstack up` again, as on an installed machine: each the wall time of
  the command, as a person types it, until it returns (up returns once every
  service answers; the figure also has the moment each API answers an HTTP
  request, checked right after); and the CPU time each used (the command,
  what it waited for and, for up, the services' own start), which the
  other programs of a busy machine do not inflate;
- memory, after --idle seconds of rest: the PSS of the stack's own processes
  (total, per service and per process) and, apart, of the host daemons
  (bench/pss.py);
- with the tiny image and m1.nano, polling every 50 ms: a warm launch (POST
  /servers until ACTIVE, the image in the compute cache; with the CPU time
  our process, the host daemons and the guest's QEMU used for it, and
  beside it libvirt's own start of a bare domain, the floor, with the
  guest's CPU read back as computed has libvirt do it and as libvirt
  itself would (one request per CPU feature); and when each
  step of the build ended after the POST, from computed's events), ACTIVE to the
  guest's POCKETSTACK-BOOTED line on its console (under TCG where KVM is not
  usable) and DELETE until the server answers 404 (bench/launch.py's client);
- the upload of a --image-mib image beside the machine's hash+write ceiling
  (md5, sha512 and the file write in threads, no network), as
  bench/image_io.py measures both.
Figures only, beside the targets of the README; it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libvirt
import requests

from bench import pss
from bench.harness import host_figures
from bench.image_io import Images, hash_and_write_rate, payload_file
from bench.launch import Client, timed_launch
from shared.paths import StateLayout
from shared.units import MiB
from tests.stack import REPO, Stack, port_offset_for

TARGETS = {"ours_idle_pss_mib": 200, "up_s": 2.0, "down_s": 1.0,
           "active_to_boot_marker_s": 5.0, "delete_to_404_s": 1.0,
           "warm_launch_to_active_s": 0.5, "upload_of_ceiling": 0.9}
# The APIs `up` starts by default; each must answer an HTTP request.
APIS = ("identity", "imaged", "volumed", "networkd", "computed", "dashboard")


def run_pocketstack(stack: Stack, *args: str) -> tuple[float, float]:
    """The wall time of one `pocketstack` command, started as a person would
    start it (a new interpreter), and the CPU time it used with what it
    waited for (the fork server's imports, tgtadm, ip...): on a busy machine
    the wall time grows with the others' load, the CPU time does not."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-m", "pocketstack.main", "--state-dir",
                             str(stack.state_dir), *args], capture_output=True, text=True,
                            timeout=600, cwd=REPO)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"pocketstack {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def services_cpu(state: StateLayout) -> float:
    """CPU time the stack's own processes have used so far."""
    own, _host = pss.stack_processes(state)
    return sum(process["cpu_s"] for process in own)


def every_api_answers(stack: Stack) -> float:
    """Seconds until each API answers an HTTP request (any status)."""
    started = time.perf_counter()
    for service in APIS:
        while True:
            try:
                requests.get(stack.url(service) + "/", timeout=5)
                break
            except requests.ConnectionError:
                if time.perf_counter() - started > 60:
                    raise SystemExit(f"{service} does not answer") from None
                time.sleep(0.01)
    return time.perf_counter() - started


def nothing_left(state: StateLayout) -> bool:
    own, _host = pss.stack_processes(state)
    return not own


def median_of(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 3),
            "samples": [round(s, 3) for s in samples]}


def up_and_down(stack: Stack, cycles: int) -> dict:
    """`up` on the fresh state directory, then `down` and `up` again."""
    state = StateLayout(stack.state_dir)
    first, _cpu = run_pocketstack(stack, "up", "--port-offset", str(stack.port_offset))
    first_answers = every_api_answers(stack)
    ups, up_cpus, answers, downs, down_cpus = [], [], [], [], []
    for _ in range(cycles):
        seconds, cpu = run_pocketstack(stack, "down")
        downs.append(seconds)
        down_cpus.append(cpu)
        if not nothing_left(state):
            raise SystemExit("pocketstack down left processes of the stack running")
        seconds, cpu = run_pocketstack(stack, "up")
        ups.append(seconds)
        up_cpus.append(cpu + services_cpu(state))
        answers.append(every_api_answers(stack))
    return {"up_fresh_state_s": round(first, 3),
            "up_fresh_state_then_every_api_answers_s": round(first_answers, 3),
            "up_s": median_of(ups),
            "up_cpu_s": median_of(up_cpus),
            "up_then_every_api_answers_s": median_of(answers),
            "down_s": median_of(downs),
            "down_cpu_s": median_of(down_cpus)}


def launched(client: Client, image_id: str, name: str) -> tuple[str, float]:
    """timed_launch(), with the server's fault in the error if it failed."""
    try:
        return timed_launch(client, image_id, name)
    except RuntimeError as exc:
        servers = client.session.get(f"{client.compute}/servers/detail",
                                     params={"name": name}, timeout=30).json()["servers"]
        faults = [server.get("fault") for server in servers]
        raise SystemExit(f"{exc}: {faults}") from None


def qemu_of(server_id: str) -> int | None:
    """The pid of the QEMU that runs the server (its SMBIOS serial is the
    server's id)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = pss.command_line(int(entry.name))
            if argv and "qemu-system" in argv[0] and any(server_id in a for a in argv):
                return int(entry.name)
    return None


def cpu_by_process(state: StateLayout) -> dict[str, float]:
    own, host = pss.stack_processes(state)
    return {"ours": sum(p["cpu_s"] for p in own),
            **{p["name"]: p["cpu_s"] for p in host}}


def warm_launch_cpu(stack: Stack, client: Client, image_id: str,
                    name: str) -> tuple[str, float, dict]:
    """A warm launch, with the CPU time each process used for it: ours
    (the API, the build), the host daemons (libvirtd above all) and the
    guest's QEMU until ACTIVE (its start, and the first moments of the
    guest once it is resumed). On two cores their sum bounds how short the
    launch can be, whatever the code around them does."""
    state = StateLayout(stack.state_dir)
    before = cpu_by_process(state)
    posted_at = time.time()
    server_id, seconds = launched(client, image_id, name)
    after = cpu_by_process(state)
    qemu = qemu_of(server_id)
    used = {key: round(after[key] - before.get(key, 0.0), 2) for key in after}
    used["qemu"] = round(pss.cpu_seconds(qemu), 2) if qemu else 0.0
    used.update({f"step {name}": at for name, at in
                 client.build_steps(server_id, posted_at).items()})
    return server_id, seconds, used


def domain_start_floor(stack: Stack, samples: int, readback: str = "feature-words") -> dict:
    """What libvirt alone takes to start a domain here, the floor under
    any launch: the domain computed would write for m1.nano and the tiny
    image (computed's own XML), without a NIC, config drive or ephemeral
    disk, defined and started paused, then destroyed; nothing of the
    stack's is involved. `readback`: how libvirt reads the started guest's
    CPU back ([libvirt] guest_cpu_readback): feature-words (computed's
    default) or per-feature, libvirt 9.0's own way with QEMU 7.2, one
    qom-get per CPU feature (about 400 requests, whatever the CPU mode of
    the domain)."""
    import uuid as uuids

    from computed.virt.guest import FileDisk, GuestSpec, domain_xml
    from computed.virt.libvirt_driver import choose_virt_type
    base = sorted((stack.state_dir / "lib" / "instances" / "_base").glob("[0-9a-f]" * 40))[0]
    seconds = []
    with tempfile.TemporaryDirectory(prefix="floor-", dir=stack.state_dir) as tmp:
        overlay = Path(tmp) / "disk"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        str(base), str(overlay)], check=True)
        conn = libvirt.open("qemu:///system")
        try:
            for _ in range(samples):
                guest = GuestSpec(uuid=str(uuids.uuid4()), domain_name="pocketstack-floor",
                                  vcpus=1, memory_mb=128,
                                  disks=[FileDisk(overlay, "vda", "qcow2")], volumes=[],
                                  console_log=Path(tmp) / "console.log")
                started = time.perf_counter()
                domain = conn.defineXML(domain_xml(guest, choose_virt_type("auto"), True,
                                                   readback))
                try:
                    domain.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
                    seconds.append(time.perf_counter() - started)
                    domain.destroy()
                finally:
                    domain.undefine()
        finally:
            conn.close()
    return median_of(seconds)


def guest_figures(stack: Stack, samples: int) -> dict:
    """Warm launch (and the CPU it used, by process), ACTIVE to the boot
    marker, delete to 404."""
    client = Client(stack)
    tiny = client.image_id()
    server_id, first = launched(client, tiny, "footprint-first")  # caches the image
    client.delete(server_id)
    warm, boot, delete, cpu = [], [], [], []
    for index in range(samples):
        server_id, seconds, used = warm_launch_cpu(stack, client, tiny, f"footprint-{index}")
        warm.append(seconds)
        cpu.append(used)
        boot.append(client.wait(lambda booting=server_id:
                                "POCKETSTACK-BOOTED" in client.console(booting),
                                "the boot marker"))
        delete.append(client.delete(server_id))
    return {"first_launch_to_active_s": round(first, 3),
            "libvirt_domain_start_floor_s": domain_start_floor(stack, samples),
            "libvirt_domain_start_floor_per_feature_readback_s":
                domain_start_floor(stack, samples, "per-feature"),
            "warm_launch_to_active_s": median_of(warm),
            "warm_launch_cpu_s": {key: median_of([used.get(key, 0.0) for used in cpu])
                                  for key in cpu[0] if not key.startswith("step ")},
            "warm_launch_steps_end_after_post_s": {
                key.removeprefix("step "): median_of([used.get(key, 0.0) for used in cpu])
                for key in cpu[0] if key.startswith("step ")},
            "active_to_boot_marker_s": median_of(boot),
            "delete_to_404_s": median_of(delete)}


def upload_figures(stack: Stack, size_mib: int) -> dict:
    """One upload of size_mib from the page cache, and the ceiling."""
    size = size_mib * MiB
    images = Images(stack)
    with tempfile.TemporaryDirectory(prefix="footprint-upload-", dir=stack.state_dir) as tmp:
        source = payload_file(Path(tmp), size)
        ceiling = hash_and_write_rate(Path(tmp), size)
        image_id = images.create("footprint-upload")
        started = time.perf_counter()
        status = images.upload_file(image_id, source)
        upload = size / MiB / (time.perf_counter() - started)
        images.delete(image_id)
    return {"size_mib": size_mib, "upload_status": status,
            "upload_mb_s": round(upload, 1),
            "md5_sha512_and_write_in_threads_mb_s": round(ceiling, 1),
            "upload_of_ceiling": round(upload / ceiling, 2)}


def verdicts(figures: dict) -> dict:
    """Each target beside its figure (medians where there are samples)."""
    def median(value):
        return value["median"] if isinstance(value, dict) else value
    measured = {
        "ours_idle_pss_mib": figures["memory_idle"]["ours"]["pss_mib"],
        "up_s": median(figures["up_down"]["up_s"]),
        "down_s": median(figures["up_down"]["down_s"]),
        "active_to_boot_marker_s": median(figures["guest"]["active_to_boot_marker_s"]),
        "delete_to_404_s": median(figures["guest"]["delete_to_404_s"]),
        "warm_launch_to_active_s": median(figures["guest"]["warm_launch_to_active_s"]),
    }
    if "upload" in figures:
        measured["upload_of_ceiling"] = figures["upload"]["upload_of_ceiling"]
    return {name: {"measured": value, "target": TARGETS[name],
                   "met": value >= TARGETS[name] if name == "upload_of_ceiling"
                   else value <= TARGETS[name]}
            for name, value in measured.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3, help="down+up cycles")
    parser.add_argument("--samples", type=int, default=3, help="launches")
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds of rest before memory is read")
    parser.add_argument("--image-mib", type=int, default=512,
                        help="size of the uploaded image (0: no upload figure)")
    args = parser.parse_args()
    os.environ.setdefault("POCKETSTACK_IMAGE_CACHE",
                          os.environ.get("POCKETSTACK_TEST_CACHE",
                                         "/var/cache/pocketstack-test"))
    base = int(os.environ.get("POCKETSTACK_TEST_PORT_BASE", "16000"))
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pocketstack-bench-") as tmp:
        stack = Stack(Path(tmp), port_offset_for("bench", base=base))
        state = StateLayout(stack.state_dir)
        try:
            figures: dict = {"up_down": up_and_down(stack, args.cycles)}
            time.sleep(args.idle)
            figures["memory_idle"] = pss.footprint(state)
            figures["guest"] = guest_figures(stack, args.samples)
            if args.image_mib:
                figures["upload"] = upload_figures(stack, args.image_mib)
            figures["memory_after_work"] = {
                key: {k: v for k, v in value.items() if k != "each"}
                for key, value in pss.footprint(state).items()}
        finally:
            stack.down()
    figures["targets"] = verdicts(figures)
    figures["host"] = {**host_figures(), "load_average_1m_at_start": load_at_start}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
