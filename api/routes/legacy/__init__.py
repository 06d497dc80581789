"""The original service's endpoints under /legacy/, with its request and answer shapes (one
resource per module; api/services/legacy.py holds what they share). A client of the original
changes only its base URL."""
from api.routes.legacy.balancing_authority import LegacyBalancingAuthority
from api.routes.legacy.carbon_aware_scheduler import LegacyCarbonAwareScheduler
from api.routes.legacy.carbon_intensity import LegacyCarbonIntensity
from api.routes.legacy.energy_mixture import LegacyEnergyMixture
from api.routes.legacy.metadata import LegacyCloudLocations, LegacyCloudProviders

LEGACY_ROUTES = (LegacyBalancingAuthority, LegacyCarbonIntensity, LegacyEnergyMixture, LegacyCloudProviders,
                 LegacyCloudLocations, LegacyCarbonAwareScheduler)
