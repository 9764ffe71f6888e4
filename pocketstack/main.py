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
from pathlib import Path
from typing import TYPE_CHECKING

from pocketstack import processes, stackconfig
from pocketstack.forkserver import ForkServer
from pocketstack.hostdaemons import HostDaemonError
from pocketstack.progress import Progress
from pocketstack.services import SERVICES, STACK_DAEMONS, Service, initial_settings
from shared.config import ConfigError, ensure_config_file, load_config
from shared.paths import StateLayout, resolve_state_dir

if TYPE_CHECKING:
    from pocketstack.tinyimage import TinyImageLookup

START_TIMEOUT = 60.0
#: The log of the process serving several services (pocketstack/together.py):
#: gunicorn's lines and any line no service wrote; each service has its own.
TOGETHER_LOG = "services"
#: What it writes into the log of a service that failed to start, before it ends.
DID_NOT_START = "could not start; the process ends"
DAEMON_SETTLE_TIME = 1.0


def _load(service: Service, state: StateLayout):
    return load_config(service.schema(), state.config_file(service.schema().filename))


def cmd_up(state: StateLayout, port_offset: int, process_per_service: bool = False) -> int:
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
    launcher = ForkServer(["shared.serve", "pocketstack.together",
                           *(service.module for service in not_running)])
    if any(service.wanted is None for service in not_running):
        launcher.start()
    try:
        try:
            configs, stack = _prepare(state, port_offset)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        together = stack.services.one_process and not process_per_service
        tiny_image = _look_up_tiny_image_meanwhile(state, configs)
        started_any = _start_all(state, configs, launcher, together)
    finally:
        launcher.close()
    if started_any is None:
        tiny_image.cancel()
        return 1
    if not started_any:
        print("The stack is already up; nothing was started.")
    _register_tiny_image(state, configs, tiny_image)
    _print_summary(state, configs)
    return 0


def _start_all(state: StateLayout, configs: dict, launcher: ForkServer,
               together: bool) -> bool | None:
    """The stack's host daemons, then each wanted service in order, each
    with its host daemons first. True if something was started, None if
    something failed (said on stderr).

    together (pocketstack.conf [services] one_process): the services that
    can share a process are started at the end, in one process
    (pocketstack/together.py), in the same order; the others at their turn,
    each in its own. A daemon without a port is checked last, once it had
    the time to fail at its start-up, so that no one waits for that time."""
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
    sharing: list[Service] = []
    try:
        for service in SERVICES:
            if not service.is_wanted(configs):
                continue
            running = _already_running(service, configs, state)
            # A running service's host daemons too: libvirtd may have died
            # under a computed that goes on (it serves 503s until libvirtd
            # is back), and no one but `up` starts it again.
            started_any |= _ensure_host_daemons(service, configs[service.name], state)
            if running:
                continue
            if together and _can_share_a_process(service, configs):
                sharing.append(service)
            elif service.default_port is None:
                settling.append((service, _spawn(service, state, launcher), time.monotonic()))
            else:
                _start_service(service, configs[service.name], state, launcher)
            started_any = True
        if sharing:
            settling += _start_together(sharing, configs, state, launcher)
        for service, pid, spawned in settling:
            _check_settled(service, pid, spawned, state)
    except StartFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return started_any


def _can_share_a_process(service: Service, configs: dict) -> bool:
    """A daemon without a port, or an API served by one worker."""
    return service.default_port is None or configs[service.name].api.workers == 1


def _already_running(service: Service, configs: dict, state: StateLayout) -> bool:
    pid = processes.running_pid(state.pid_file(service.name), service.module)
    if pid:
        where = "no port" if service.default_port is None \
            else f"port {configs[service.name].api.bind_port}"
        print(f"{service.name:<16} already running (pid {pid}, {where})")
    return bool(pid)


class StartFailed(Exception):
    """A service or a host daemon did not start; the message says why."""


def _prepare(state: StateLayout, port_offset: int):
    """Every config file written at first start (passwords, shifted ports),
    every config loaded and checked, each service's own preparation run
    (identity's bootstrap). Returns the configs by service name, and
    pocketstack.conf's."""
    from identity.credentials import Credentials
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
    return configs, stack


def _ensure_host_daemons(service: Service, conf, state: StateLayout) -> bool:
    """The service's host daemons running; True if one was started now."""
    if not service.host_daemons:
        return False
    try:
        with Progress().waiting(f"starting {service.name}'s host daemons", report=False):
            lines = service.host_daemons.ensure(conf, state)
    except HostDaemonError as exc:
        raise StartFailed(str(exc)) from None
    print("\n".join(lines))
    return any(" started " in line for line in lines)


def _start_service(service: Service, conf, state: StateLayout, launcher: ForkServer) -> None:
    """Start one service in a process of its own; wait until it answers."""
    _check_port_free(service, conf)
    pid = _spawn(service, state, launcher)
    _wait_until_it_answers(service, conf, pid, state.log_file(service.name), state)


def _start_together(services: list[Service], configs: dict, state: StateLayout,
                    launcher: ForkServer) -> list[tuple[Service, int, float]]:
    """Start the services in one process (pocketstack/together.py); wait
    until each API answers. Returns the daemons without a port that are
    still to check once they had the time to settle."""
    apis = [service for service in services if service.default_port is not None]
    for service in apis:
        _check_port_free(service, configs[service.name])
    log = state.log_file(TOGETHER_LOG)
    pid = launcher.spawn("pocketstack.together",
                         ["--state-dir", str(state.root),
                          *(f"{service.name}={service.module}" for service in services)], log)
    spawned = time.monotonic()
    for service in services:
        state.pid_file(service.name).write_text(f"{pid}\n")
    try:
        for service in apis:
            _wait_until_it_answers(service, configs[service.name], pid, log, state)
    except StartFailed:
        # The process ended: the service that stopped it said so in its log.
        failed = next((service for service in services
                       if DID_NOT_START in processes.log_tail(state.log_file(service.name),
                                                              lines=200)),
                      None)
        for service in services:
            state.pid_file(service.name).unlink(missing_ok=True)
        if failed is None:
            raise
        raise StartFailed(_did_not_start(failed, state.log_file(failed.name))) from None
    # The process starts its daemons before any API: once an API answered,
    # they have started. Without an API, they are given their settle time.
    daemons = [service for service in services if service.default_port is None]
    if not apis:
        return [(service, pid, spawned) for service in daemons]
    for service in daemons:
        print(f"{service.name:<16} started (pid {pid}, no port)")
    return []


def _check_port_free(service: Service, conf) -> None:
    host, port = conf.api.bind_host, conf.api.bind_port
    if processes.port_answers(host, port):
        raise StartFailed(f"{service.name}: port {host}:{port} is taken by another program")


def _wait_until_it_answers(service: Service, conf, pid: int, log: Path,
                           state: StateLayout) -> None:
    host, port = conf.api.bind_host, conf.api.bind_port

    def answers_or_died() -> bool:
        return processes.port_answers(host, port) or not processes.alive(pid)

    with Progress().waiting(f"starting {service.name}", report=False):
        deadline = time.monotonic() + START_TIMEOUT
        answered = processes.wait_until(answers_or_died, START_TIMEOUT, interval=0.02) and \
            processes.http_status(host, port, max(1.0, deadline - time.monotonic())) \
            not in (None, 503)
    if not answered or not processes.alive(pid):
        state.pid_file(service.name).unlink(missing_ok=True)
        raise StartFailed(_did_not_start(service, log))
    print(f"{service.name:<16} started (pid {pid}, http://{host}:{port})")


def _did_not_start(service: Service, log: Path) -> str:
    return f"{service.name} did not start; the end of {log}:\n{processes.log_tail(log)}"


def _look_up_tiny_image_meanwhile(state: StateLayout, configs) -> TinyImageLookup:
    from identity.credentials import Credentials
    from pocketstack.tinyimage import TinyImageLookup
    from shared.clients import ServiceSession
    identity, imaged = configs["identity"], configs["imaged"]
    admin = ServiceSession(f"http://{identity.api.bind_host}:{identity.api.bind_port}",
                           "admin", Credentials.load_or_create(state.credentials).passwords[
                               "admin"], "admin", state.service_tokens)
    return TinyImageLookup((identity.api.bind_host, identity.api.bind_port),
                           (imaged.api.bind_host, imaged.api.bind_port), admin)


def _register_tiny_image(state: StateLayout, configs, lookup: TinyImageLookup) -> None:
    """The tiny test image, built once and registered in imaged if absent.
    A failure is reported, not fatal: the stack itself is up."""
    from pocketstack.tinyimage import IMAGE_NAME, register_tiny_image
    try:
        image_id, uploaded = register_tiny_image(state, lookup.image_url, lookup.result(),
                                                 Progress())
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


def _check_settled(service: Service, pid: int, spawned: float, state: StateLayout) -> None:
    """A daemon without a port is up once it has stayed alive through its
    start-up (config check, database): DAEMON_SETTLE_TIME after its spawn."""
    processes.wait_until(lambda: not processes.alive(pid),
                         max(0.0, spawned + DAEMON_SETTLE_TIME - time.monotonic()))
    if not processes.alive(pid):
        state.pid_file(service.name).unlink(missing_ok=True)
        raise StartFailed(_did_not_start(service, state.log_file(service.name)))
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
    processes.stop_all(sorted({pid for pid in running.values() if pid}))  # one-process: one pid
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
    up.add_argument("--process-per-service", action="store_true",
                    help="start each service in a process of its own, whatever "
                         "pocketstack.conf [services] one_process says")
    up.add_argument("--port-offset", type=int, default=0,
                    help="at first start, add this to every port (a second stack beside "
                         "the first)")
    commands.add_parser("down", help="stop what `up` started")
    commands.add_parser("status", help="show each service")
    if _command_word(arguments) in STACK_COMMANDS:
        args = parser.parse_args(arguments)
        state = StateLayout(resolve_state_dir(args.state_dir))
        if args.command == "up":
            sys.exit(cmd_up(state, args.port_offset, args.process_per_service))
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
