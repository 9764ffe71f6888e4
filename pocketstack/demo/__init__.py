"""`pocketstack demo`: the whole life of a server, narrated for a class.

    command.py     the command line, logging in, Ctrl-C and the exit status
    flow.py        the steps, top to bottom, each with its undo
    narration.py   how a step is told: title, explanation, the equivalent
                   `openstack` command, the events, progress, --step's pause
    events.py      the services' events (GET /pocketstack/v1/events) as they arrive
    undo.py        what the demo made, taken back in reverse
    hostview.py    what the host shows: os-hypervisors, the instance
                   directory, the libvirt domain, vda's backing file
    guest.py       commands run inside the guest over SSH
"""
