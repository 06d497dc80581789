"""energy-data crawler: fetches generation mixes from grid operators and EIA into PostgreSQL."""

from energy_data import __version__  # noqa: F401
