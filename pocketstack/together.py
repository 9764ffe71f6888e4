"""Several services in one process: pocketstack's one-process mode.

    python -m pocketstack.together --state-dir DIR identity=identity.app \
        imaged=imaged.app imaged-scrubber=imaged.scrubber ...

Each service of OpenStack runs in processes of its own, and so can each of
ours (`[services] one_process = false` in pocketstack.conf, or `pocketstack
up --process-per-service`). But a Python process costs its interpreter and
its libraries again, and most of what it imports is the same for every
service: Flask, SQLAlchemy, gunicorn, the policy engine, shared/. In one
process they are in memory once: on a lab VM of 4 GiB, where the guests
need the memory, that is the default.

What stays apart is what a student looks at: each service keeps its port,
its config file, its database, its policy, its pid file (the same pid for
all) and its log file (shared.logs routes each line to the service it was
written for). What is shared is the interpreter and one pool of threads
serving every port (shared.serve.serve_together). What is lost is that a
service can be stopped alone: `kill` of one stops them all, and `pocketstack
up` starts them all again.

A service is run by what its module offers:
- a daemon without a port (imaged-scrubber) has start(state), which
  returns its loop: the daemons start first, one after the other, then
  each loop runs in a thread of its own until the process ends. So once
  any API answers, every daemon has started;
- an API service has SERVICE, its shared.service.ServiceDefinition: every
  config is checked first; then every port opens, and the services start
  all at once, each in a thread (their starts wait on disks, tgtadm,
  netlink and libvirt at least as much as on the CPU). One's start may call
  another's API (networkd's first start asks identity): a request to a
  service still starting waits until it has (shared.serve.PortDispatcher).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import threading
import time

from pocketstack.main import DID_NOT_START
from shared import logs
from shared.paths import StateLayout, resolve_state_dir
from shared.serve import Port, PortDispatcher, serve_together
from shared.serving import serve_as

LOG = logging.getLogger(__name__)


def package_of(module: str) -> str:
    """The package a service's loggers are named after: identity.app ->
    identity, imaged.registry.server -> imaged.registry, imaged.scrubber
    stays imaged.scrubber."""
    for entry_point in (".app", ".server"):
        if module.endswith(entry_point):
            return module.removesuffix(entry_point)
    return module


def parse(argv: list[str] | None) -> tuple[StateLayout, list[tuple[str, str]]]:
    parser = argparse.ArgumentParser(description="Several PocketStack services in one "
                                                 "process.")
    parser.add_argument("--state-dir", help="state directory (default: "
                                            "$POCKETSTACK_STATE_DIR or /var/lib/pocketstack)")
    parser.add_argument("services", nargs="+", metavar="NAME=MODULE",
                        help="a service's name and its module, in the order to start them")
    args = parser.parse_args(argv)
    pairs = [tuple(item.split("=", 1)) for item in args.services]
    if any(len(pair) != 2 for pair in pairs):
        parser.error("each service is given as NAME=MODULE")
    state = StateLayout(resolve_state_dir(args.state_dir)).create()
    return state, [(name, module) for name, module in pairs]


def start_daemon(name: str, module, state: StateLayout) -> None:
    """A daemon without a port: its start (module.start(state), which
    returns its loop) here, among the services' starts; then its loop, in a
    thread that works for it (its lines go to its log) until the process
    ends. If the loop fails (it keeps going through a failed pass, so this
    is a bug), the process ends, as its own process would."""
    loop = module.start(state)

    def work() -> None:
        serve_as(name)
        try:
            loop(threading.Event())
        except BaseException:  # noqa: BLE001 - said in its log, then the process ends
            end_because(name)
    threading.Thread(target=work, name=name, daemon=True).start()


def end_because(name: str) -> None:
    """A service could not start: say so in its log (pocketstack up looks
    for these words), and end the process: half a stack is no stack."""
    LOG.exception("%s %s", name, DID_NOT_START)
    logging.shutdown()
    os._exit(1)


def main(argv: list[str] | None = None) -> None:
    """Check every config (a bad value stops here), open every port, then
    start the daemons, then the APIs at once: each one's port answers once
    it runs."""
    state, services = parse(argv)
    logs.route_by_service({name: state.log_file(name) for name, _ in services},
                          {package_of(module): name for name, module in services})
    modules = [(name, importlib.import_module(module)) for name, module in services]
    configs = {name: module.SERVICE.config(state) for name, module in modules
               if hasattr(module, "SERVICE")}
    ports = [Port(name, conf.api.bind_host, conf.api.bind_port)
             for name, conf in configs.items()]

    def start_one(dispatcher: PortDispatcher, name: str, module) -> None:
        serve_as(name)  # its start-up's lines into its log
        began, cpu = time.monotonic(), time.thread_time()
        try:
            if name in configs:
                conf = configs[name]
                dispatcher.add(conf.api.bind_port, module.SERVICE.start(conf, state)())
            else:
                start_daemon(name, module, state)
        except BaseException:  # noqa: BLE001 - the process cannot serve without it
            end_because(name)
        LOG.info("%s started in %.2f s (%.2f s of CPU)", name,
                 time.monotonic() - began, time.thread_time() - cpu)
        serve_as(None)

    def start(dispatcher: PortDispatcher) -> None:
        for name, module in modules:
            if name not in configs:
                start_one(dispatcher, name, module)
        apis = [threading.Thread(target=start_one, args=(dispatcher, name, module),
                                 name=f"start-{name}")
                for name, module in modules if name in configs]
        for thread in apis:
            thread.start()
        for thread in apis:
            thread.join()

    serve_together(ports, start, sum(conf.api.threads for conf in configs.values()),
                   name="services")


if __name__ == "__main__":
    main()
