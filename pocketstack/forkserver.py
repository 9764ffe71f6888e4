"""One interpreter that imports the services once and forks each of them.

    python -m pocketstack.forkserver identity.app imaged.app ...

`pocketstack up` runs it while it starts services. It imports the modules it
is given (Flask, SQLAlchemy, the policy engine and each service's code come
with them), then reads one request per line on stdin and answers each with
the pid of a new process:

    {"module": "identity.app", "argv": ["--state-dir", "/var/lib/pocketstack"],
     "log": "/var/lib/pocketstack/log/identity.log"}      ->  {"pid": 4711}

The new process is the service (or, in the one-process mode, the
services: pocketstack/together.py), as `python -m identity.app --state-dir
...` would run it: a session of its own, stdin from /dev/null, stdout and stderr
into its log, the module's main(argv). What it does not do is start Python
and import everything again: a fork takes milliseconds where an import takes
a second of CPU, and the pages of the code imported here stay shared between
all the services (copy-on-write), so the libraries are in memory once for
the whole stack, not once per process.

It exits when stdin closes; the services it started live on. Its command
line names every module it serves, so that each service's process (which
keeps that command line) is still known by its module, as `pocketstack
status` and `down` look for it.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path


def preload(modules: list[str]) -> None:
    """Import what the services will run. A module that fails to import is
    left to its own process, which then fails with the traceback in its log.

    The collector is off meanwhile: importing makes hundreds of thousands
    of objects, and its passes over them would take a sixth of the import
    time; one pass at the end finds the little garbage."""
    gc.disable()
    for module in modules:
        try:
            importlib.import_module(module)
        except BaseException:  # noqa: BLE001 - reported by the service's own start
            sys.modules.pop(module, None)
    gc.collect()
    # Objects made so far are never examined by the collector again: its
    # passes would otherwise write to every page they live in, and each
    # write gives the writing process a private copy of a shared page.
    gc.freeze()
    gc.enable()


def become_service(module: str, argv: list[str], log: str) -> None:
    """In the new process: detach, take the log as stdout and stderr, run
    the module's main(argv); never return into the server's loop."""
    code = 1
    try:
        os.setsid()
        os.chdir("/")
        with open(os.devnull, "rb") as devnull:
            os.dup2(devnull.fileno(), 0)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        sys.argv = [module, *argv]
        importlib.import_module(module).main(argv)
        code = 0
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - into the log, as an uncaught error would go
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # exiting anyway
                stream.flush()
        os._exit(code)


def serve(requests, replies) -> None:
    for line in requests:
        request = json.loads(line)
        os.makedirs(os.path.dirname(request["log"]), exist_ok=True)
        pid = os.fork()
        if pid == 0:
            become_service(request["module"], request["argv"], request["log"])
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()


def main() -> None:
    preload(sys.argv[1:])
    serve(sys.stdin, sys.stdout)



class ForkServer:
    """`pocketstack up`'s side: the server is started by start() (it then
    imports while `up` does other work) and asked for one service at a time
    by spawn(); close() lets it exit."""

    def __init__(self, modules: list[str]):
        self.modules = modules
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "pocketstack.forkserver", *self.modules],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/",
                start_new_session=True)

    def spawn(self, module: str, argv: list[str], log_file: Path) -> int:
        """The pid of a new process running module.main(argv), logging to
        log_file."""
        self.start()
        assert self._process is not None and self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps({"module": module, "argv": argv,
                                              "log": str(log_file)}) + "\n")
        self._process.stdin.flush()
        reply = self._process.stdout.readline()
        if not reply:
            raise RuntimeError(f"the fork server ended before it started {module}")
        return int(json.loads(reply)["pid"])

    def close(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait()
            self._process = None


if __name__ == "__main__":
    main()
