"""The `pocketstack` command."""
