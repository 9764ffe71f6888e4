"""`pocketstack ssh SERVER [-i KEY] [-l USER] [--wait] [-- COMMAND...]`.

    1. log in as the user of the chosen cloud (clouds.yaml)
    2. find the server; with --wait, follow it through BUILD, ACTIVE, its
       DHCP lease and its SSH banner; without, it must be ACTIVE already
    3. choose its address: floating first, else fixed (reached from inside
       the stack's network namespace)
    4. read its host keys from its console log
    5. connect: only those host keys are accepted, the key is the user's
    6. run the command (its exit status becomes ours) or open a shell
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from networkd.config import schema as networkd_schema
from pocketstack.cloud import Cloud, CloudError
from pocketstack.ssh import hostkeys, relay, target
from pocketstack.ssh.session import KeyRefused, SshError, connect, default_keys
from pocketstack.ssh.wait import Progress, WaitTimeout, wait_until_reachable
from shared.config import ConfigError, load_config
from shared.netnames import stack_namespace
from shared.paths import StateLayout

FAILED = 255          # as ssh: its own failures exit 255, a command's status otherwise
DEFAULT_WAIT = 300.0


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "ssh", help="a shell or a command in a server, over SSH",
        description="Open a shell in SERVER, or run COMMAND there, checking the host key "
                    "against the keys the guest printed on its console. The address is the "
                    "server's floating IP if it has one, else its fixed IP (reached from "
                    "inside the stack's network namespace).")
    parser.add_argument("server", metavar="SERVER", help="server name or ID")
    parser.add_argument("-i", dest="identity", action="append", type=Path, default=[],
                        metavar="KEY", help="private key file (default: ~/.ssh/id_*)")
    parser.add_argument("-l", dest="login", metavar="USER",
                        help="login user (default: the image's os_admin_user, else root)")
    parser.add_argument("-p", dest="port", type=int, default=22, help="SSH port")
    parser.add_argument("--wait", action="store_true",
                        help="wait until the server is reachable, showing each phase")
    parser.add_argument("--timeout", type=float, default=DEFAULT_WAIT,
                        help="seconds --wait waits at most (default %(default)s)")
    parser.add_argument("--os-cloud", dest="cloud",
                        help="cloud of clouds.yaml (default: $OS_CLOUD, else pocketstack)")
    parser.add_argument("remote_command", nargs="*", metavar="-- COMMAND",
                        help="command to run instead of a shell (after --)")


def split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the options, the remote command): everything after the first `--`
    is the guest's, never ours (argparse alone would let a positional
    SERVER swallow it, or read the command's own options as ours)."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def run(args, state: StateLayout) -> int:
    command = args.remote_command
    try:
        cloud = Cloud.login(state.clouds_yaml, args.cloud)
        server = target.find_server(cloud, args.server)
        namespace = stack_namespace_of(state)
        deadline = time.monotonic() + args.timeout
        if args.wait:
            wait_until_reachable(cloud, server["id"], namespace, args.port, args.timeout,
                                 Progress())
        server = target.refresh(cloud, server["id"])
        target.require_active(server)
        address = target.choose_address(server)
        keys = hostkeys.parse(target.console(cloud, server["id"]))
        user = args.login or target.login_user(cloud, server)
        while True:
            try:
                client = connect(address, args.port, namespace, user, keys,
                                 args.identity or default_keys())
                break
            except KeyRefused:
                # The guest installs the key pair a moment after its SSH
                # server starts: with --wait, that moment is waited for too.
                if not args.wait or time.monotonic() > deadline:
                    raise
                time.sleep(1)
    except (CloudError, target.TargetError, SshError, WaitTimeout) as error:
        print(f"pocketstack ssh: {error}", file=sys.stderr)
        return FAILED
    with client:
        if command:
            return relay.run_command(client, " ".join(command))
        return relay.interactive_shell(client)


def stack_namespace_of(state: StateLayout) -> str:
    """The stack's network namespace: networkd.conf [dataplane] namespace,
    else the name derived from the state directory."""
    schema = networkd_schema()
    try:
        conf = load_config(schema, state.config_file(schema.filename))
    except ConfigError:
        return stack_namespace(state.root)
    return conf.dataplane.namespace or stack_namespace(state.root)
