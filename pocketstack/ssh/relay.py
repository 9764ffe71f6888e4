"""Between the person's terminal and the guest: a command's output and exit
status, or an interactive shell on a real terminal.

A command: its stdout and stderr go to ours as they arrive, our stdin (when
it is not a terminal) is sent to it, and its exit status becomes ours (255
when the guest closed without one, as ssh does). A shell: the guest gets a
PTY of our terminal's type and size, our terminal goes raw so that every
key (Ctrl-C included) reaches the guest, and it is put back as it was at
the end whatever happens.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import termios
import tty
from contextlib import contextmanager

import paramiko

CHUNK = 32768
NO_STATUS = 255


def run_command(client: paramiko.SSHClient, command: str) -> int:
    channel = _session(client)
    channel.exec_command(command)
    feed_stdin = not sys.stdin.isatty()
    return _pump(channel, feed_stdin)


def interactive_shell(client: paramiko.SSHClient) -> int:
    channel = _session(client)
    if not sys.stdin.isatty():
        # No terminal to lend the guest: a shell reading our stdin, like `ssh -T`.
        channel.invoke_shell()
        return _pump(channel, feed_stdin=True)
    columns, rows = shutil.get_terminal_size()
    channel.get_pty(term=os.environ.get("TERM", "vt100"), width=columns, height=rows)
    channel.invoke_shell()

    def resized(_signum, _frame) -> None:
        size = shutil.get_terminal_size()
        channel.resize_pty(width=size.columns, height=size.lines)

    previous = signal.signal(signal.SIGWINCH, resized)
    try:
        with _raw_terminal():
            return _pump(channel, feed_stdin=True)
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _session(client: paramiko.SSHClient) -> paramiko.Channel:
    transport = client.get_transport()
    assert transport is not None, "connect() returned a connected client"
    return transport.open_session()


@contextmanager
def _raw_terminal():
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _pump(channel: paramiko.Channel, feed_stdin: bool) -> int:
    """Copy both ways until the guest's side ends; its exit status."""
    stdin = sys.stdin.fileno()
    stdout, stderr = sys.stdout.buffer, sys.stderr.buffer
    reading_stdin = feed_stdin
    while True:
        watched = [channel] + ([stdin] if reading_stdin else [])
        ready, _, _ = select.select(watched, [], [], 0.5)
        if channel in ready or channel.recv_ready() or channel.recv_stderr_ready():
            while channel.recv_stderr_ready():
                stderr.write(channel.recv_stderr(CHUNK))
                stderr.flush()
            if channel.recv_ready():
                data = channel.recv(CHUNK)
                stdout.write(data)
                stdout.flush()
        if reading_stdin and stdin in ready:
            data = os.read(stdin, CHUNK)
            if data:
                channel.sendall(data)
            else:
                channel.shutdown_write()
                reading_stdin = False
        if channel.exit_status_ready() and not channel.recv_ready() \
                and not channel.recv_stderr_ready():
            break
        if channel.closed and not channel.recv_ready():
            break
    status = channel.recv_exit_status() if channel.exit_status_ready() else -1
    channel.close()
    return status if status >= 0 else NO_STATUS
