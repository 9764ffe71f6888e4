"""What `pocketstack down` does for computed once it has stopped: power
off this stack's guests (power_off_guests)."""
from __future__ import annotations

from shared.paths import StateLayout


def power_off_guests(state: StateLayout) -> list[str]:
    """`pocketstack down`: power off this stack's guests (hard, as a host
    losing power would), keeping their definitions and disks. At the next
    `up`, computed's reconcile shows them SHUTOFF and they can be started
    again. Only domains marked with this stack's node id are touched."""
    import libvirt
    from sqlalchemy import select

    from computed.config import schema
    from computed.db.models import ComputeNode
    from computed.virt.guest import METADATA_NS, parse_metadata
    from shared.config import ConfigError, load_config
    from shared.db import make_engine, session_factory, transaction
    from shared.service import database_url

    try:
        conf = load_config(schema(), state.config_file(schema().filename))
    except ConfigError:
        return []
    engine = make_engine(database_url(conf, state, "computed"))
    try:
        with transaction(session_factory(engine), write=False) as session:
            nodes = set(session.scalars(select(ComputeNode.uuid)))
    except Exception:  # no database yet: computed never ran here
        return []
    finally:
        engine.dispose()
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
    stopped = []
    try:
        conn = libvirt.open(conf.libvirt.uri)
    except libvirt.libvirtError:
        return []
    try:
        for domain in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                labels = parse_metadata(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                                        METADATA_NS))
                if labels.get("node") in nodes:
                    domain.destroy()
                    stopped.append(domain.name())
            except libvirt.libvirtError:
                continue
    finally:
        conn.close()
    return stopped
