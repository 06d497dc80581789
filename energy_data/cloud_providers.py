"""Cloud provider names and the aliases clients use for them: plain vocabulary, shared by the
workload model (which validates candidate_providers) and the cloud-region catalogue."""
from __future__ import annotations

PROVIDERS = ("aws", "gcp", "azure")
# Prefixes accepted in ids and provider arguments ("gcloud" is the original service's name).
PROVIDER_ALIASES = {
    "aws": "aws", "amazon": "aws",
    "gcp": "gcp", "google": "gcp", "gcloud": "gcp",
    "azure": "azure", "microsoft": "azure",
}


def provider_name(alias: str) -> str | None:
    """The canonical provider for a name or alias (any case), or None."""
    return PROVIDER_ALIASES.get(alias.strip().lower()) if isinstance(alias, str) else None
