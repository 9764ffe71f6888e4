"""Exporting volumes over iSCSI. base.Target is the interface; tgt.py fills
it in with the userspace target daemon tgtd."""
