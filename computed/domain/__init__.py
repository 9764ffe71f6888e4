"""The rules of compute, as plain Python: server states and allowed actions,
flavors, resource claims, device names, request checks. No I/O here."""
