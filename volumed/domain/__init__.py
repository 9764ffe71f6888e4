"""volumed's rules as plain Python: no database, no files, no HTTP.

Everything here can be read (and unit-tested) on its own: which statuses a
volume has, which action is allowed in which status, how quotas are counted."""
