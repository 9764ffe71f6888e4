"""`pocketstack lab list | check N | reset N`.

check: each requirement of lab N, done or missing (with what was found and
a hint); exits 0 when all are done, 1 while something is missing, 2 when the
stack cannot be asked. reset: undoes what the lab's steps made.
"""
from __future__ import annotations

import sys

from pocketstack.cloud import CloudError
from pocketstack.lab import all_labs
from pocketstack.lab.base import LabContext
from pocketstack.progress import Progress
from shared.paths import StateLayout

MISSING = 1
CANNOT_ASK = 2


def add_parser(commands) -> None:
    parser = commands.add_parser("lab", help="check or reset a lab of labs/")
    actions = parser.add_subparsers(dest="lab_action", required=True)
    actions.add_parser("list", help="the labs and their texts")
    for action, help_text in (("check", "is what lab N asks for done?"),
                              ("reset", "put the stack back as before lab N")):
        sub = actions.add_parser(action, help=help_text)
        sub.add_argument("number", type=int, metavar="N")


def run(args, state: StateLayout) -> int:
    labs = all_labs()
    if args.lab_action == "list":
        for number, lab in labs.items():
            print(f"{number:>2}  {lab.title:<40} labs/{lab.text}")
        return 0
    if args.number not in labs:
        print(f"no lab {args.number} (labs: {', '.join(map(str, labs))})", file=sys.stderr)
        return CANNOT_ASK
    lab = labs[args.number]
    context = LabContext(state)
    try:
        if args.lab_action == "reset":
            # Servers and volumes take seconds to go: a spinner meanwhile.
            with Progress().waiting(f"lab {lab.number}: undoing what its steps made"):
                undone = lab.reset(context)
            for line in undone:
                print(f"  undone  {line}")
            print(f"lab {lab.number} reset")
            return 0
        outcomes = lab.check(context)
    except CloudError as error:
        print(f"cannot check lab {lab.number}: {error}", file=sys.stderr)
        return CANNOT_ASK
    print(f"lab {lab.number}: {lab.title}")
    for outcome in outcomes:
        mark = "done   " if outcome.done else "MISSING"
        print(f"  [{mark}] {outcome.requirement.description}")
        if not outcome.done:
            if outcome.found:
                print(f"            found: {outcome.found}")
            print(f"            hint:  {outcome.requirement.hint}")
    missing = sum(not outcome.done for outcome in outcomes)
    print(f"{len(outcomes) - missing} of {len(outcomes)} done" +
          ("" if not missing else f"; {missing} missing"))
    return MISSING if missing else 0
