"""volumed: block storage with a Cinder v3 API.

Volumes are sparse raw files under the state directory, exported over iSCSI
by a tgtd that volumed owns, one target per attached volume, each protected by
CHAP secrets made fresh for every attachment."""
