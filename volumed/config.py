"""volumed.conf: the options of the volume service."""
from __future__ import annotations

from shared.config import ConfigError, Opt, Schema
from shared.service import LOOPBACK, common_sections

DEFAULT_PORT = 8776
DEFAULT_TARGET_PORT = 3260
# tgtd's management socket is /var/run/tgtd/socket.<control port>; the
# distribution's own tgtd uses 0, so volumed's tgtd uses another.
DEFAULT_CONTROL_PORT = 1


def schema() -> Schema:
    result = Schema("volumed.conf", common_sections(DEFAULT_PORT, "volumed"))
    result.add("volume", [
        Opt("volumes_dir", "", "Where the volume files live. Empty: lib/volumes under "
            "the state directory."),
        Opt("target_ip_address", LOOPBACK, "Address tgtd listens on and that "
            "connection_info names (target_portal). Loopback by default."),
        Opt("target_port", DEFAULT_TARGET_PORT, "TCP port of the iSCSI portal.",
            kind="int", minimum=1, maximum=65535),
        Opt("target_control_port", DEFAULT_CONTROL_PORT, "tgtd's management channel "
            "(tgtadm -C N, a short integer); not 0, which a distribution tgtd uses.",
            kind="int", minimum=1, maximum=32767),
        Opt("target_prefix", "iqn.2010-10.org.openstack:", "Prefix of every target's "
            "IQN; the volume's IQN is <prefix>volume-<id>."),
        Opt("manage_tgtd", True, "Start the tgtd volumed owns when it is not running "
            "(pocketstack up does it too).", kind="bool"),
        Opt("export_check_interval", 2.0, "Seconds between two checks that every "
            "volume that should be exported is (after a tgtd restart, say).",
            kind="float", minimum=0.2, maximum=3600),
        Opt("default_volume_type", "__DEFAULT__", "The type of a volume created "
            "without one."),
        Opt("image_download_timeout", 600, "Seconds to wait for imaged while "
            "downloading or uploading an image.", kind="int", minimum=1),
        Opt("image_url", f"http://{LOOPBACK}:9292", "Where imaged answers (Glance v2)."),
    ])
    result.add("quota", [
        Opt("volumes", 10, "Volumes a project may have (-1: no limit).",
            kind="int", minimum=-1),
        Opt("gigabytes", 1000, "GiB of volumes and snapshots a project may have "
            "(-1: no limit).", kind="int", minimum=-1),
        Opt("snapshots", 10, "Snapshots a project may have (-1: no limit).",
            kind="int", minimum=-1),
        Opt("per_volume_gigabytes", -1, "Largest volume in GiB (-1: no limit).",
            kind="int", minimum=-1),
        Opt("backups", 10, "Backups a project may have (-1: no limit).",
            kind="int", minimum=-1),
        Opt("backup_gigabytes", 1000, "GiB of backups a project may have: the sizes "
            "of the backed-up volumes (-1: no limit).", kind="int", minimum=-1),
    ])
    # Cinder has these in [DEFAULT]; volumed groups them, with Cinder's names
    # and defaults, as computed and imaged group Nova's and Glance's.
    result.add("backup", [
        Opt("backup_driver", "posix", "Where backups are kept: posix (files under "
            "backup_posix_path, Cinder's posix driver) or swift (objects in Swift, in "
            "volumed's own account, Cinder's swift driver; needs an object-store in the "
            "catalog: pocketstack.conf [swift] enabled, which makes swift the value "
            "written here at the first start).", kind="choice",
            choices=("posix", "swift")),
        Opt("backup_swift_container", "volumebackups", "The Swift container of a backup "
            "created without one, with the swift driver (made when missing)."),
        Opt("backup_posix_path", "", "Where the posix driver keeps backups. Empty: "
            "lib/backup under the state directory (Cinder: $state_path/backup)."),
        Opt("backup_file_size", 61035 * 32768, "The largest object a backup is "
            "split into, in bytes; a multiple of backup_sha_block_size_bytes.",
            kind="int", minimum=4096),
        Opt("backup_sha_block_size_bytes", 32768, "The size in bytes that changes "
            "are tracked for incremental backups.", kind="int", minimum=512),
        Opt("backup_compression_algorithm", "zlib", "How each backup object is "
            "compressed.", kind="choice",
            choices=("none", "off", "no", "zlib", "gzip", "bz2", "bzip2")),
        Opt("backup_container", "", "The container of a backup created without "
            "one, with the posix driver. Empty: <id[0:2]>/<id[2:4]>/<id> (Cinder's "
            "posix default)."),
        Opt("backup_enable_progress_timer", True, "Record backup.createprogress "
            "events while a backup runs, every backup_timer_interval seconds.",
            kind="bool"),
        Opt("backup_timer_interval", 120, "Seconds between two backup progress "
            "events.", kind="int", minimum=1),
    ]).check(_check_backup_sizes)
    result.add("rbd", [
        Opt("volume_backend_name", "rbd", "The name volume types give in their extra spec "
            "volume_backend_name to put their volumes in Ceph (RBD images); other types "
            "stay on the file backend (sparse files over iSCSI)."),
        Opt("rbd_pool", "volumes", "The Ceph pool volumes are kept in."),
        Opt("rbd_user", "cinder", "The cephx user volumed connects as, and compute hosts "
            "attach volumes as (its keyring found through the Ceph config)."),
        Opt("rbd_ceph_conf", "", "The Ceph config file. Empty: the stack's own Ceph "
            "(etc/ceph/ceph.conf under the state directory; pocketstack.conf [ceph])."),
        Opt("rbd_secret_uuid", "", "The libvirt secret compute hosts keep rbd_user's key "
            "in. Empty: derived from the cluster's fsid and rbd_user (what computed "
            "derives too)."),
    ])
    return result


def _check_backup_sizes(conf) -> None:
    size, block = conf.backup.backup_file_size, conf.backup.backup_sha_block_size_bytes
    if size % block:
        raise ConfigError("volumed.conf", "backup", "backup_file_size",
                          f"{size} is not a multiple of backup_sha_block_size_bytes "
                          f"({block})")


def stack_settings(stack_conf) -> dict[str, dict]:
    """Written into volumed.conf at the first start: backups go to Swift when
    the stack runs one (pocketstack.conf [swift] enabled), as Cinder's
    backups go to Swift where it is deployed; to files otherwise. Changing
    pocketstack.conf later leaves volumed.conf as it is."""
    return {"backup": {"backup_driver": "swift"}} if stack_conf.swift.enabled else {}


def offset_settings(port_offset: int) -> dict[str, dict]:
    """For a second stack beside the first (`pocketstack up --port-offset N`):
    its own iSCSI portal, tgtd control port and imaged URL."""
    return {"volume": {
        "target_port": DEFAULT_TARGET_PORT + port_offset,
        # A short integer in tgtadm: keep it small, distinct per offset.
        "target_control_port": DEFAULT_CONTROL_PORT + port_offset % 32000,
        "image_url": f"http://{LOOPBACK}:{9292 + port_offset}"}}
