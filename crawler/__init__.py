"""energy-data crawler: fetches generation mixes from grid operators and EIA into PostgreSQL."""

__version__ = "0.1.0"
