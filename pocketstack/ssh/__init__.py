"""`pocketstack ssh`: a shell or a command in a server, with its host key
checked against what the guest printed on its console.

    target.py     which server, which address, through which namespace
    hostkeys.py   the host keys a guest printed on its console
    session.py    the SSH connection (paramiko, RejectPolicy) and its errors
    relay.py      a command's output and exit status, or an interactive shell
    wait.py       --wait: the phases a new server passes until SSH answers
    command.py    the command line: the flow, top to bottom
"""
