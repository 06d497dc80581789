"""Clients of external services the API may fall back on. The WattTime client (login, token
cache, region-from-loc) is shared with the crawler's WATTTIME source and lives below both, in
energy_data/watttime.py."""
