"""computed.conf: every option of the compute service.

Names and defaults follow Nova's where Nova has the same option
([DEFAULT] cpu_allocation_ratio, instances_path, [libvirt] virt_type ...),
grouped in [compute] and [libvirt], so that a lab can compare the two.
"""
from __future__ import annotations

from shared.config import Opt, Schema
from shared.service import LOOPBACK, common_sections

DEFAULT_PORT = 8774
METADATA_PORT = 8775  # Nova's metadata_listen_port
SERIALPROXY_PORT = 6083  # Nova's [serial_console] serialproxy_port
IMAGE_PORT = 9292
VOLUME_PORT = 8776
NETWORK_PORT = 9696
EPHEMERAL_FORMATS = ("ext4", "ext3", "ext2", "vfat", "none")
IMAGES_TYPES = ("qcow2", "rbd")  # computed/virt/imagebackend.py
CPU_READBACKS = ("feature-words", "per-feature")  # computed/virt/guest.py cpu_readback_element


def schema() -> Schema:
    # One worker process: the background flows (launch, delete, snapshot)
    # and the periodic tasks live in it. Resource claims are made in database
    # write transactions all the same, so more workers would stay consistent.
    result = Schema("computed.conf", common_sections(DEFAULT_PORT, "computed", workers=1))
    result.add("compute", [
        Opt("host", "", "Name of this compute host (OS-EXT-SRV-ATTR:host). Empty: the "
            "machine's host name."),
        Opt("my_ip", "", "This host's IP address, shown as host_ip by os-hypervisors "
            "(Nova's my_ip). Empty: the address the API listens on ([api] bind_host)."),
        Opt("instances_path", "", "Where instance directories and the image cache (_base) "
            "live. Empty: lib/instances under the state directory."),
        Opt("cpu_allocation_ratio", 16.0, "Virtual CPUs per physical CPU that servers may "
            "claim (Nova's historical default).", kind="float", minimum=0.01, maximum=1000),
        Opt("ram_allocation_ratio", 1.5, "RAM that servers may claim, as a multiple of the "
            "host's RAM (Nova's historical default).", kind="float", minimum=0.01,
            maximum=1000),
        Opt("disk_allocation_ratio", 1.0, "Local disk that servers may claim, as a multiple "
            "of the size of the file system of instances_path.", kind="float",
            minimum=0.01, maximum=1000),
        Opt("reserved_host_cpus", 0, "Physical CPUs kept for the host.", kind="int",
            minimum=0),
        Opt("reserved_host_memory_mb", 512, "RAM (MiB) kept for the host.", kind="int",
            minimum=0),
        Opt("reserved_host_disk_mb", 0, "Local disk (MiB) kept for the host.", kind="int",
            minimum=0),
        Opt("max_concurrent_builds", 10, "Servers built at the same time; more wait their "
            "turn in BUILD.", kind="int", minimum=1, maximum=100),
        Opt("force_config_drive", True, "Give every server a config drive (ISO9660, label "
            "config-2) holding the same documents the metadata service answers with, so a "
            "guest without a network (or before its DHCP lease) still learns its name, keys "
            "and user_data (Nova's default is false).", kind="bool"),
        Opt("force_raw_images", True, "Convert cached base images to raw (as Nova does by "
            "default): faster overlays, no compressed clusters to unpack at run time.",
            kind="bool"),
        Opt("default_ephemeral_format", "ext4", "File system made on ephemeral disks "
            "(none: leave them blank).", kind="choice", choices=EPHEMERAL_FORMATS),
        Opt("image_download_timeout", 600, "Seconds to wait for imaged while downloading or "
            "uploading an image.", kind="int", minimum=1),
        Opt("vif_plugging_timeout", 60, "Seconds a new server waits, paused, for networkd to "
            "plug each of its ports (the port becomes ACTIVE) before it runs; a port not "
            "plugged in time fails the build (Nova's vif_plugging_timeout with "
            "vif_plugging_is_fatal). Hot-plugged ports wait as long. 0: do not wait.",
            kind="int", minimum=0, maximum=3600),
        Opt("shutdown_timeout", 60, "Seconds a guest has to power itself off after the ACPI "
            "power button (stop, soft reboot) before it is powered off hard.", kind="int",
            minimum=0, maximum=3600),
        Opt("shelved_offload_time", 0, "What shelve does after the image is made: 0 "
            "offloads the server at once (its domain, disks and claim go: Nova's "
            "default), -1 keeps it on the host, shelved, until an admin offloads it "
            "(shelveOffload). Nova's periodic offload after N seconds is not offered.",
            kind="int", minimum=-1, maximum=0),
        Opt("sync_power_state_interval", 10.0, "Seconds between two comparisons of the "
            "database with what libvirt reports (a guest that powered itself off becomes "
            "SHUTOFF). 0 disables it.", kind="float", minimum=0, maximum=86400),
        Opt("image_cache_manager_interval", 2400.0, "Seconds between two passes of the "
            "image cache manager over _base. 0 disables it.", kind="float", minimum=0,
            maximum=7 * 86400),
        Opt("remove_unused_base_images", True, "Let the image cache manager delete cached "
            "base images that no server uses any more.", kind="bool"),
        Opt("remove_unused_original_minimum_age_seconds", 86400, "How long an unused base "
            "image stays in the cache before it is deleted.", kind="int", minimum=0),
    ])
    result.add("libvirt", [
        Opt("uri", "qemu:///system", "The libvirt connection."),
        Opt("virt_type", "auto", "Domain type: kvm, qemu (TCG emulation), or auto: kvm where "
            "hardware virtualisation really works, qemu otherwise.", kind="choice",
            choices=("auto", "kvm", "qemu")),
        Opt("machine_type", "pc", "QEMU machine type (pc has the IDE bus the config drive "
            "uses)."),
        Opt("run_qemu_as_root", True, "Run each guest's QEMU as root (a static DAC label on "
            "the domain) instead of libvirt's unprivileged user, which cannot read a state "
            "directory under a private /tmp/pytest-of-root. Guests stay confined by QEMU's "
            "sandbox; set false on a shared host whose state directory is world-traversable.",
            kind="bool"),
        Opt("guest_cpu_readback", "feature-words", "How libvirt reads a started guest's "
            "CPU back from QEMU: feature-words (two QOM properties; the domain carries a "
            "<qemu:capabilities> override and libvirt logs it as tainted) or per-feature "
            "(libvirt's own way with QEMU 7.2: one monitor request per CPU feature, some "
            "400, 0.2-0.3 s of every start). Both give libvirt the same guest CPU.",
            kind="choice", choices=CPU_READBACKS),
        Opt("images_type", "qcow2", "Where servers' own disks (vda, vdb, swap) live: qcow2 "
            "files in the instance directory, overlays on the cached image in _base (Nova's "
            "default), or rbd: RBD images in Ceph, vda a copy-on-write clone of the image "
            "when imaged keeps it raw in the same cluster (Nova's images_type).",
            kind="choice", choices=IMAGES_TYPES),
        Opt("images_rbd_pool", "vms", "images_type rbd: the Ceph pool of the disks."),
        Opt("images_rbd_ceph_conf", "", "images_type rbd: the Ceph config file. Empty: the "
            "stack's own Ceph (etc/ceph/ceph.conf under the state directory; "
            "pocketstack.conf [ceph])."),
        Opt("rbd_user", "cinder", "The cephx user QEMU reaches the disks as (its keyring "
            "beside the Ceph config), as Nova's rbd_user."),
        Opt("rbd_secret_uuid", "", "The libvirt secret holding rbd_user's key for the "
            "disks. Empty: derived from the cluster's fsid and rbd_user."),
        Opt("iscsi_initiator_name", "", "IQN of this host's (QEMU's) iSCSI initiator, given "
            "to volumed as the connector. Empty: iqn.2010-10.org.pocketstack:<node id>."),
    ])
    result.add("metadata", [
        Opt("enabled", True, "Serve the metadata API (Nova's nova-api-metadata): networkd's "
            "metadata proxy forwards guests' requests to http://169.254.169.254/ here, "
            "signed. Off: guests have the config drive only.", kind="bool"),
        Opt("bind_host", LOOPBACK, "Address the metadata API listens on (Nova's "
            "metadata_listen). Only networkd's proxy needs to reach it."),
        Opt("bind_port", METADATA_PORT, "Port of the metadata API (Nova's "
            "metadata_listen_port).", kind="int", minimum=1, maximum=65535),
        Opt("metadata_proxy_shared_secret", "", "The secret networkd's proxy signs "
            "X-Instance-ID with (Nova's [neutron] metadata_proxy_shared_secret); networkd's "
            "[metadata] metadata_proxy_shared_secret must be the same. Empty: the stack's "
            "generated secret (<state>/etc/metadata-proxy-secret).", secret=True),
        Opt("metadata_cache_expiration", 15, "Seconds a server's documents are kept after "
            "they were gathered (Nova's [api] metadata_cache_expiration): cloud-init reads "
            "dozens of paths in a few seconds. 0: gather them for every request.",
            kind="int", minimum=0, maximum=3600),
        Opt("dhcp_domain", "", "Domain appended to the server's hostname in the metadata "
            "(Nova's [api] dhcp_domain, whose default is novalocal). Empty: the hostname "
            "alone."),
    ])
    result.add("serial_console", [
        Opt("enabled", True, "Offer each guest's serial port as Nova's `serial` remote "
            "console (os-getSerialConsole): a websocket proxy in computed's worker, like "
            "nova-serialproxy, joins a client holding a token to the guest's serial port "
            "(a unix socket of QEMU's in the instance directory). Off: 400 'Unavailable "
            "console type serial.'", kind="bool"),
        Opt("serialproxy_host", LOOPBACK, "Address the serial console proxy listens on."),
        Opt("serialproxy_port", SERIALPROXY_PORT, "Port the serial console proxy listens "
            "on.", kind="int", minimum=1, maximum=65535),
        Opt("base_url", f"ws://{LOOPBACK}:{SERIALPROXY_PORT}/", "The URL clients are given, "
            "with ?token=<token> appended: where they reach the proxy."),
    ])
    result.add("consoleauth", [
        Opt("token_ttl", 600, "Seconds a console token may be used to open a console "
            "(Nova's [consoleauth] token_ttl).", kind="int", minimum=1, maximum=86400),
    ])
    result.add("console", [
        Opt("allowed_origins", [], "Host names a browser's Origin header may name besides "
            "the proxy's own Host (Nova's [console] allowed_origins).", kind="list"),
    ])
    result.add("image", [
        Opt("url", f"http://{LOOPBACK}:{IMAGE_PORT}", "Where imaged answers (Glance v2)."),
    ])
    result.add("volume", [
        Opt("url", f"http://{LOOPBACK}:{VOLUME_PORT}", "Where volumed answers (Cinder v3, "
            "without /v3)."),
    ])
    result.add("network", [
        Opt("url", f"http://{LOOPBACK}:{NETWORK_PORT}", "Where networkd answers (Neutron "
            "v2.0, without /v2.0)."),
    ])
    result.add("quota", [
        Opt("instances", 10, "Servers per project (-1: no limit).", kind="int", minimum=-1),
        Opt("cores", 20, "vCPUs per project (-1: no limit).", kind="int", minimum=-1),
        Opt("ram", 51200, "MiB of RAM per project (-1: no limit).", kind="int", minimum=-1),
        Opt("key_pairs", 100, "Key pairs per user (-1: no limit).", kind="int", minimum=-1),
        Opt("metadata_items", 128, "Metadata items per server.", kind="int", minimum=0),
    ])
    return result


def stack_settings(stack_conf) -> dict[str, dict]:
    """Written into computed.conf at the first start: servers' disks in the
    stack's Ceph when pocketstack.conf asks for it ([ceph] instance_disks).
    Changing pocketstack.conf later leaves computed.conf as it is."""
    if stack_conf.ceph.enabled and stack_conf.ceph.instance_disks:
        return {"libvirt": {"images_type": "rbd"}}
    return {}


def offset_settings(port_offset: int) -> dict[str, dict]:
    """For a second stack beside the first (`pocketstack up --port-offset N`):
    the metadata API's port, and the imaged, volumed and networkd it talks
    to, are shifted too."""
    serial_port = SERIALPROXY_PORT + port_offset
    return {"metadata": {"bind_port": METADATA_PORT + port_offset},
            "serial_console": {"serialproxy_port": serial_port,
                               "base_url": f"ws://{LOOPBACK}:{serial_port}/"},
            "image": {"url": f"http://{LOOPBACK}:{IMAGE_PORT + port_offset}"},
            "volume": {"url": f"http://{LOOPBACK}:{VOLUME_PORT + port_offset}"},
            "network": {"url": f"http://{LOOPBACK}:{NETWORK_PORT + port_offset}"}}
