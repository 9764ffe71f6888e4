"""`pocketstack up | down | status`: run the whole stack on one machine.

up      first start: generate keys, passwords, config files, clouds.yaml and
        seed identity; then start every service that is not running yet and
        wait until each one answers. Safe to run again.
down    stop what `up` started (and nothing else).
status  each service: up or down, port, pid.
ssh     a shell or a command in a server (pocketstack ssh --help).
demo    the life of a server, narrated for a class (pocketstack demo --help).
"""
from __future__ import annotations

import argparse
import sys
import time

from pocketstack import processes, stackconfig
from pocketstack.forkserver import ForkServer
from pocketstack.hostdaemons import HostDaemonError
from pocketstack.progress import Progress
from pocketstack.services import SERVICES, STACK_DAEMONS, Service, initial_settings
from shared.config import ConfigError, ensure_config_file, load_config
from shared.paths import StateLayout, resolve_state_dir

START_TIMEOUT = 60.0
DAEMON_SETTLE_TIME = 1.0


def _load(service: Service, state: StateLayout):
    return load_config(service.schema(), state.config_file(service.schema().filename))


def cmd_up(state: StateLayout, port_offset: int) -> int:
    """1. config files and identity's seed; 2. each wanted service, in order,
    with its host daemons first; 3. the tiny image; 4. what to type next.
    A service that does not start stops the walk (what started stays up, and
    a second `up` carries on from there). The services are forked by one
    fork server (pocketstack/forkserver.py), which imports them meanwhile."""
    # The fork server imports what is not running yet (its command line
    # names them: their processes are known by it), and shared.serve too:
    # gunicorn, which the API services import as they serve. It is started
    # now, to import while the configs are read, when a service every stack
    # runs is down; otherwise at the first spawn (an optional service that
    # its config wants), or never.
    not_running = [service for service in SERVICES
                   if not processes.running_pid(state.pid_file(service.name), service.module)]
    launcher = ForkServer(["shared.serve", *(service.module for service in not_running)])
    if any(service.wanted is None for service in not_running):
        launcher.start()
    try:
        try:
            configs = _prepare(state, port_offset)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        started_any = _start_all(state, configs, launcher)
    finally:
        launcher.close()
    if started_any is None:
        return 1
    if not started_any:
        print("The stack is already up; nothing was started.")
    _register_tiny_image(state, configs)
    _print_summary(state, configs)
    return 0


def _start_all(state: StateLayout, configs: dict, launcher: ForkServer) -> bool | None:
    """The stack's host daemons, then each wanted service in order. True if
    something was started, None if something failed (said on stderr).
    A daemon without a port is checked last, once it had the time to fail
    at its start-up, so that no one waits for that time."""
    started_any = False
    for daemons in STACK_DAEMONS:
        try:
            lines = daemons.ensure(None, state)
        except HostDaemonError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        started_any |= any(" started " in line for line in lines)
        if lines:
            print("\n".join(lines))
    settling: list[tuple[Service, int, float]] = []
    try:
        for service in SERVICES:
            if not service.is_wanted(configs):
                continue
            if service.default_port is None:
                pid = _start_daemon(service, state, launcher)
                if pid:
                    settling.append((service, pid, time.monotonic()))
                    started_any = True
            else:
                started_any |= _start_service(service, configs[service.name], state,
                                              launcher)
        for service, pid, spawned in settling:
            _check_settled(service, pid, spawned, state)
    except StartFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return started_any


class StartFailed(Exception):
    """A service or a host daemon did not start; the message says why."""


def _prepare(state: StateLayout, port_offset: int) -> dict:
    """Every config file written at first start (passwords, shifted ports),
    every config loaded and checked, each service's own preparation run
    (identity's bootstrap). Returns the configs by service name."""
    from identity.bootstrap import Credentials
    state.create()
    credentials = Credentials.load_or_create(state.credentials)
    stack_conf = ensure_config_file(stackconfig.schema(), state.etc,
                                    stackconfig.offset_settings(port_offset))
    stack = load_config(stackconfig.schema(), stack_conf)  # a bad value stops `up` here
    for service in SERVICES:
        ensure_config_file(service.schema(), state.etc,
                           initial_settings(service, port_offset, credentials.passwords,
                                            stack))
    for daemons in STACK_DAEMONS:
        daemons.prepare(state)  # e.g. Swift's catalog entry, before identity reads it
    configs = {service.name: _load(service, state) for service in SERVICES}
    for service in SERVICES:
        if service.prepare:
            service.prepare(state, configs[service.name])
    return configs


def _start_service(service: Service, conf, state: StateLayout, launcher: ForkServer) -> bool:
    """Start one service unless it runs; True if it was started now."""
    host, port = conf.api.bind_host, conf.api.bind_port
    if service.host_daemons:
        try:
            with Progress().waiting(f"starting {service.name}'s host daemons", report=False):
                lines = service.host_daemons.ensure(conf, state)
            print("\n".join(lines))
        except HostDaemonError as exc:
            raise StartFailed(str(exc)) from None
    pid = processes.running_pid(state.pid_file(service.name), service.module)
    if pid:
        print(f"{service.name:<16} already running (pid {pid}, port {port})")
        return False
    if processes.port_answers(host, port):
        raise StartFailed(f"{service.name}: port {host}:{port} is taken by another program")
    pid = _spawn(service, state, launcher)

    def answers_or_died() -> bool:
        return processes.port_answers(host, port) or not processes.alive(pid)

    with Progress().waiting(f"starting {service.name}", report=False):
        deadline = time.monotonic() + START_TIMEOUT
        # its port accepts before its app is built: an HTTP answer says it runs
        answered = processes.wait_until(answers_or_died, START_TIMEOUT, interval=0.02) and \
            processes.http_status(host, port, max(1.0, deadline - time.monotonic())) \
            not in (None, 503)
    if not answered or not processes.alive(pid):
        state.pid_file(service.name).unlink(missing_ok=True)
        raise StartFailed(_did_not_start(service, state))
    print(f"{service.name:<16} started (pid {pid}, http://{host}:{port})")
    return True


def _did_not_start(service: Service, state: StateLayout) -> str:
    log = state.log_file(service.name)
    return f"{service.name} did not start; the end of {log}:\n{processes.log_tail(log)}"


def _register_tiny_image(state: StateLayout, configs) -> None:
    """The tiny test image, built once and registered in imaged if absent.
    A failure is reported, not fatal: the stack itself is up."""
    from identity.bootstrap import Credentials
    from pocketstack.tinyimage import IMAGE_NAME, register_tiny_image
    identity, imaged = configs["identity"], configs["imaged"]
    try:
        image_id, uploaded = register_tiny_image(
            state, f"http://{identity.api.bind_host}:{identity.api.bind_port}",
            f"http://{imaged.api.bind_host}:{imaged.api.bind_port}",
            Credentials.load_or_create(state.credentials).passwords["admin"], Progress())
    except Exception as exc:  # a build or upload problem: say which
        print(f"warning: the image {IMAGE_NAME} could not be registered: {exc}",
              file=sys.stderr)
        return
    word = "registered" if uploaded else "already registered"
    print(f"{IMAGE_NAME:<16} {word} (image {image_id})")


def _openstack_command() -> str:
    """The `openstack` client to suggest: on PATH, or the one `make` installs
    beside the project."""
    import shutil
    from pathlib import Path
    found = shutil.which("openstack")
    if found:
        return "openstack"
    beside = Path(__file__).resolve().parents[2] / ".venv-clients" / "bin" / "openstack"
    return str(beside) if beside.exists() else "openstack"


def _spawn(service: Service, state: StateLayout, launcher: ForkServer) -> int:
    """A new process of the service, its pid in the service's pid file."""
    pid = launcher.spawn(service.module, ["--state-dir", str(state.root)],
                         state.log_file(service.name))
    state.pid_file(service.name).write_text(f"{pid}\n")
    return pid


def _start_daemon(service: Service, state: StateLayout, launcher: ForkServer) -> int | None:
    """A background process without a port (imaged-scrubber): its pid if it
    was started now (see _check_settled), None if it runs already."""
    pid = processes.running_pid(state.pid_file(service.name), service.module)
    if pid:
        print(f"{service.name:<16} already running (pid {pid}, no port)")
        return None
    return _spawn(service, state, launcher)


def _check_settled(service: Service, pid: int, spawned: float, state: StateLayout) -> None:
    """A daemon without a port is up once it has stayed alive through its
    start-up (config check, database): DAEMON_SETTLE_TIME after its spawn."""
    processes.wait_until(lambda: not processes.alive(pid),
                         max(0.0, spawned + DAEMON_SETTLE_TIME - time.monotonic()))
    if not processes.alive(pid):
        state.pid_file(service.name).unlink(missing_ok=True)
        raise StartFailed(_did_not_start(service, state))
    print(f"{service.name:<16} started (pid {pid}, no port)")


def _print_summary(state: StateLayout, configs) -> None:
    identity = configs["identity"]
    print(f"\nEndpoints (region {identity.catalog.region}):")
    for service in SERVICES:
        if service.catalog_option:
            print(f"  {service.name:<16} {getattr(identity.catalog, service.catalog_option)}")
    print(f"\nCredentials: {state.credentials}")
    print(f"clouds.yaml: {state.clouds_yaml}  (clouds: pocketstack = demo, "
          f"pocketstack-admin = admin)")
    print(f"Logs:        {state.log}")
    openstack = _openstack_command()
    print("\nTry:\n"
          f"  export OS_CLIENT_CONFIG_FILE={state.clouds_yaml}\n"
          f"  {openstack} --os-cloud pocketstack token issue\n"
          f"  {openstack} --os-cloud pocketstack-admin project list")


def cmd_down(state: StateLayout) -> int:
    """Every service is sent SIGTERM at once and waited for; then, last
    service first, what each leaves behind goes (its guests powered off,
    its host daemons stopped), and the stack's own host daemons last."""
    running = {service.name: processes.running_pid(state.pid_file(service.name),
                                                   service.module)
               for service in SERVICES}
    processes.stop_all([pid for pid in running.values() if pid])
    stopped = 0
    for service in reversed(SERVICES):
        pid = running[service.name]
        if pid:
            print(f"{service.name:<16} stopped (pid {pid})")
            stopped += 1
        state.pid_file(service.name).unlink(missing_ok=True)
        if service.after_stop:
            for line in service.after_stop(state):
                print(line)
        if service.host_daemons:
            for line in service.host_daemons.stop(state):
                print(line)
                stopped += 1
    for daemons in STACK_DAEMONS:
        for line in daemons.stop(state):
            print(line)
            stopped += 1
    if not stopped:
        print("Nothing was running.")
    return 0


def cmd_status(state: StateLayout) -> int:
    """One line per service and per host service: up, down, or off (an
    optional service this stack's config does not use)."""
    print(f"{'SERVICE':<16} {'STATE':<6} {'PORT':<6} PID")
    configs = {}
    for service in SERVICES:
        try:
            configs[service.name] = _load(service, state)
        except ConfigError:
            configs[service.name] = None
    all_up = True
    for service in SERVICES:
        conf = configs[service.name]
        if conf is not None and None not in configs.values() and not service.is_wanted(configs):
            print(f"{service.name:<16} {'off':<6} {'-':<6} -")
            continue
        pid = processes.running_pid(state.pid_file(service.name), service.module)
        if service.default_port is not None:
            host, port = (conf.api.bind_host, conf.api.bind_port) if conf else \
                ("127.0.0.1", service.default_port)
            up = bool(pid) and processes.port_answers(host, port)
        else:
            port, up = "-", bool(pid)
        all_up &= up
        print(f"{service.name:<16} {'up' if up else 'down':<6} {port:<6} {pid or '-'}")
    for name, up, port, pid in _host_services(state):
        all_up &= up
        print(f"{name:<16} {'up' if up else 'down':<6} {port:<6} {pid or '-'}")
    return 0 if all_up else 3


def _host_services(state: StateLayout) -> list[tuple]:
    """The host daemons of every service (tgtd; virtlogd and libvirtd) and
    of the stack (Ceph, when pocketstack.conf enables it)."""
    return [row for service in SERVICES if service.host_daemons
            for row in service.host_daemons.status(state)] + \
        [row for daemons in STACK_DAEMONS for row in daemons.status(state)]


#: The commands that start, stop and look at the stack: they run without
#: importing the others' modules (ssh, lab and demo bring paramiko, pyroute2
#: and the clients), which would cost `up` and `down` most of a second.
STACK_COMMANDS = ("up", "down", "status")


def _command_word(argv: list[str]) -> str | None:
    """The command named on the command line (None for --help alone)."""
    after_state_dir = False
    for token in argv:
        if after_state_dir:
            after_state_dir = False
        elif token == "--state-dir":
            after_state_dir = True
        elif not token.startswith("-"):
            return token
    return None


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="pocketstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", help="state directory (default: $POCKETSTACK_STATE_DIR "
                                            "or /var/lib/pocketstack)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the stack")
    up.add_argument("--port-offset", type=int, default=0,
                    help="at first start, add this to every port (a second stack beside "
                         "the first)")
    commands.add_parser("down", help="stop what `up` started")
    commands.add_parser("status", help="show each service")
    if _command_word(arguments) in STACK_COMMANDS:
        args = parser.parse_args(arguments)
        state = StateLayout(resolve_state_dir(args.state_dir))
        if args.command == "up":
            sys.exit(cmd_up(state, args.port_offset))
        if args.command == "down":
            sys.exit(cmd_down(state))
        sys.exit(cmd_status(state))
    from pocketstack.demo import command as demo_command
    from pocketstack.lab import command as lab_command
    from pocketstack.ssh import command as ssh_command
    ssh_command.add_parser(commands)
    lab_command.add_parser(commands)
    demo_command.add_parser(commands)
    options, remote_command = ssh_command.split_command(arguments)
    args = parser.parse_args(options)
    if args.command == "ssh":
        args.remote_command += remote_command
    state = StateLayout(resolve_state_dir(args.state_dir))
    if args.command == "ssh":
        sys.exit(ssh_command.run(args, state))
    if args.command == "lab":
        sys.exit(lab_command.run(args, state))
    if args.command == "demo":
        sys.exit(demo_command.run(args, state))
    parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    main()
