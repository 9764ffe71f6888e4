"""What `pocketstack down` does for computed once it has stopped: power
off this stack's guests (power_off_guests)."""
from __future__ import annotations

from shared.paths import StateLayout


def power_off_guests(state: StateLayout) -> list[str]:
    """`pocketstack down`: power off this stack's guests (hard, as a host
    losing power would), keeping their definitions and disks. At the next
    `up`, computed's reconcile shows them SHUTOFF and they can be started
    again. Only domains marked with this stack's node id are touched.
    libvirt is asked first: with no guest running, nothing else is read
    (computed's database and models take most of a second to load)."""
    import libvirt

    from computed.config import schema
    from shared.config import ConfigError, load_config

    try:
        conf = load_config(schema(), state.config_file(schema().filename))
    except ConfigError:
        return []
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
    try:
        conn = libvirt.open(conf.libvirt.uri)
    except libvirt.libvirtError:
        return []
    stopped = []
    try:
        running = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        if not running:
            return []
        from computed.virt.guest import METADATA_NS, parse_metadata
        nodes = _node_ids(state, conf)
        for domain in running:
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


def _node_ids(state: StateLayout, conf) -> set[str]:
    """The compute node ids in this stack's database (none if computed
    never ran here)."""
    from sqlalchemy import select

    from computed.db.models import ComputeNode
    from shared.db import make_engine, session_factory, transaction
    from shared.service import database_url

    engine = make_engine(database_url(conf, state, "computed"))
    try:
        with transaction(session_factory(engine), write=False) as session:
            return set(session.scalars(select(ComputeNode.uuid)))
    except Exception:  # no database yet: computed never ran here
        return set()
    finally:
        engine.dispose()
