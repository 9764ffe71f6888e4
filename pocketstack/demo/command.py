"""`pocketstack demo [--step]`: the life of a server, narrated for a class.

    1. log in as the demo user (clouds.yaml's `pocketstack`) and as the admin
       (only to read the host's usage, os-hypervisors)
    2. run the steps (flow.py); with --step, wait for Enter before each
    3. whatever happened (done, failed, Ctrl-C): delete what the demo made,
       newest first, so the stack is left as the demo found it
Exit status: 0 done, 1 a step failed, 2 the stack cannot be reached,
130 interrupted.
"""
from __future__ import annotations

import signal
import sys

import requests

from pocketstack.cloud import Cloud, CloudError
from pocketstack.demo.events import EventFeed
from pocketstack.demo.flow import STEPS, Demo, DemoFailed
from pocketstack.demo.narration import Narrator, WaitFailed
from pocketstack.demo.undo import Undo
from pocketstack.progress import Progress
from pocketstack.ssh.command import stack_namespace_of
from pocketstack.ssh.session import SshError
from pocketstack.ssh.target import TargetError
from pocketstack.ssh.wait import WaitTimeout
from shared.paths import StateLayout

USER_CLOUD = "pocketstack"
ADMIN_CLOUD = "pocketstack-admin"
FAILED, CANNOT_REACH, INTERRUPTED = 1, 2, 130


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "demo", help="the life of a server, narrated for a class",
        description="Register an image, choose a flavor, create a volume, launch a server, "
                    "attach the volume, look at vda/vdb/vdc inside the guest, snapshot, "
                    "terminate, and show what is left and what was freed: each step "
                    "explained, with its openstack command and the services' events. "
                    "Everything the demo makes is deleted at the end (also on Ctrl-C).")
    parser.add_argument("--step", action="store_true",
                        help="wait for Enter before each step (for a teacher who talks)")


def run(args, state: StateLayout) -> int:
    progress = Progress()
    try:
        user = Cloud.login(state.clouds_yaml, USER_CLOUD)
        admin = Cloud.login(state.clouds_yaml, ADMIN_CLOUD)
    except CloudError as error:
        print(f"pocketstack demo: {error}", file=sys.stderr)
        return CANNOT_REACH
    tell = Narrator(progress, EventFeed(user), STEPS,
                    pause=_wait_for_enter(progress) if args.step else None)
    undo = Undo(tell.say)
    demo = Demo(user, admin, state, stack_namespace_of(state), tell, undo)
    tell.say(f"PocketStack demo: the life of a server, in {STEPS} steps. Everything it "
             f"makes is named demo-*-{demo.names.tag} and deleted at the end.")
    status = 0
    try:
        demo.run()
    except KeyboardInterrupt:
        tell.say("\nInterrupted.")
        status = INTERRUPTED
    except (DemoFailed, WaitFailed, CloudError, SshError, TargetError, WaitTimeout,
            requests.RequestException) as error:
        tell.say(f"\nThe demo stopped: {error}")
        status = FAILED
    finally:
        _clean_up(tell, undo)
    if status == 0:
        tell.say("\nThe demo is over; the stack is as it found it. (The image's cached copy "
                 "in _base goes\nwhen computed's image cache manager finds it unused for "
                 "long enough, as in Nova:\ncomputed.conf [compute] "
                 "remove_unused_original_minimum_age_seconds.)")
    return status


def _clean_up(tell: Narrator, undo: Undo) -> None:
    """Undo everything, with Ctrl-C ignored meanwhile: stopping half-way
    would leave things behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        tell.say("")
        tell.say("Cleaning up: deleting what the demo made, newest first")
        problems = undo.run()
        if problems:
            tell.say(f"  {len(problems)} could not be deleted; delete them by hand "
                     "(openstack server/volume/image list)")
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for_enter(progress: Progress):
    """--step's pause: a line that says so, then a line of stdin. At the
    end of stdin the demo no longer pauses."""
    ended = False

    def pause(heading: str) -> None:
        nonlocal ended
        if ended:
            return
        progress.line(f"\n[press Enter for {heading}]")
        if sys.stdin.readline() == "":
            ended = True
    return pause
