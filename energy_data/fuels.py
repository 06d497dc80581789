"""The closed fuel vocabulary of docs/design.md, which every parser maps its labels into."""
from __future__ import annotations

FUELS = (
    "coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "geothermal",
    "biomass", "battery", "hydro_storage", "other", "unknown",
)
# Discharge of stored energy: not generation from a fuel, and negative while charging.
STORAGE_FUELS = frozenset({"battery", "hydro_storage"})
