"""Where volume data lives. One interface (base.VolumeBackend), one backend
per file: file.py keeps each volume as a sparse raw file; an LVM backend
would be one more file behind the same interface."""
