"""`python -m tests.compare` (`make compare`): the same requests to PocketStack
and to the real Keystone 30 and Glance 33, and the differences.

1. install the real services into .venv-openstack/ when missing;
2. start them (fresh databases in the work directory) and a PocketStack test
   stack with the same image stores;
3. seed the same users, projects and roles on both sides, and the same images
   and metadata definitions;
4. send every scenario (scenarios.py) as every role, normalise, diff;
5. print the differences, the kept ones with their reason (the
   compare-kept.toml beside imaged's and identity's READMEs), and the counts;
   exit 1 when a difference is not kept.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from fnmatch import fnmatchcase
from pathlib import Path

from tests.compare import fixtures, kept, ours, real, report, routes, runner, sides
from tests.compare.scenarios import SCENARIOS
from tests.stack import Stack

REPO = Path(__file__).resolve().parents[2]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO / "build" / "compare",
                        help="work directory (emptied first): both sides' state and logs")
    parser.add_argument("--only", default="*", help="scenario ids to run (fnmatch pattern)")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave both sides running afterwards (stop: --stop)")
    parser.add_argument("--stop", action="store_true", help="stop what --keep-running left")
    parser.add_argument("--rejudge", action="store_true",
                        help="only apply the kept lists to the last run's report.json")
    return parser.parse_args(argv)


def stop_all(work: Path) -> None:
    real.stop(real.RealServices(work / "real", 0, 0))
    if (work / "ours" / "etc").exists():
        Stack(work / "ours", 0).down()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    work = args.work.resolve()
    if args.rejudge:
        return 1 if report.rejudge(work / "report.json", kept.load()) else 0
    stop_all(work)
    if args.stop:
        return 0
    real.install()
    shutil.rmtree(work, ignore_errors=True)
    (work / "real").mkdir(parents=True)
    base = int(os.environ.get("POCKETSTACK_TEST_PORT_BASE", "20000"))
    services = real.RealServices(work / "real", base + 500, base + 501)
    started = time.monotonic()
    try:
        print(f"starting the real Keystone on {services.keystone_url}", flush=True)
        real.start_keystone(services)
        real_side = sides.Side("real", services.keystone_url, services.glance_url,
                               services.secret("admin"))
        real_side.tokens["admin"] = real_side.login("admin", real_side.admin_password, "admin")
        sides.seed_real_glance_user(real_side, services.secret("glance"), services.glance_url)
        print(f"starting the real Glance on {services.glance_url}", flush=True)
        real.start_glance(services)
        print("starting a PocketStack stack", flush=True)
        stack = ours.start(work / "ours")
        our_side = sides.Side("ours", stack.url("identity"), stack.url("imaged"),
                              stack.password("admin"))
        data = work / "real" / "gl-data"
        real_side.places.update({"fs": f"file://{data / 'images'}",
                                 "fs2": f"file://{data / 'images2'}"})
        lib = stack.state_dir / "lib"
        our_side.places.update({"fs": f"file://{lib / 'images-fs'}",
                                "fs2": f"file://{lib / 'images-fs2'}"})
        for side in (real_side, our_side):
            sides.seed(side)
        ours.remove_own_images(our_side)
        for side in (real_side, our_side):
            fixtures.make_once(side)
        print(f"both sides ready in {time.monotonic() - started:.0f} s; comparing", flush=True)
        outcomes = []
        for scenario in SCENARIOS:
            if not fnmatchcase(scenario.id, args.only):
                continue
            for role in scenario.roles:
                outcomes.append(runner.run(scenario, role, our_side, real_side))
        unkept = report.summarise(outcomes, kept.load(), routes.all_routes(),
                                  work / "report.json")
    finally:
        if not args.keep_running:
            stop_all(work)
    print(f"  took {time.monotonic() - started:.0f} s")
    return 1 if unkept else 0


if __name__ == "__main__":
    sys.exit(main())
