"""Clients of external services the API may fall back on (WattTime)."""
