"""The tgtd volumed owns: started and stopped through shared.host.tgt_host,
bound to [volume] target_ip_address:target_port, with its own control port.
`pocketstack up` calls ensure_tgtd before it starts volumed, `down` calls
stop_tgtd after; volumed calls ensure_tgtd itself too (manage_tgtd), at
start and whenever its export watcher finds tgtd gone."""
from __future__ import annotations

from shared.host import tgt_host
from shared.paths import StateLayout


def ensure_tgtd(conf, state: StateLayout) -> dict:
    return tgt_host.ensure_running(state.root, portal_ip=conf.volume.target_ip_address,
                                   port=conf.volume.target_port,
                                   control_port=conf.volume.target_control_port)


def stop_tgtd(state: StateLayout) -> bool:
    return tgt_host.stop(state.root)
