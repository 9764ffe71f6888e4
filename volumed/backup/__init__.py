"""Volume backups: where their objects live (base.BackupStore; posix.py
keeps them as files, swift.py as Swift objects) and the chunked format
written into them (chunked.py, Cinder's chunked backup driver)."""
