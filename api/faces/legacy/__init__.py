"""The original service's API under /legacy/, with its request and answer shapes and its error
formats (one resource per module); a client of the original changes only its base URL. What
the routes compute is api/services/legacy.py (and the scheduler's core)."""
from api.faces.legacy.balancing_authority import LegacyBalancingAuthority
from api.faces.legacy.carbon_aware_scheduler import LegacyCarbonAwareScheduler
from api.faces.legacy.carbon_intensity import LegacyCarbonIntensity
from api.faces.legacy.energy_mixture import LegacyEnergyMixture
from api.faces.legacy.errors import ERROR_SCHEMAS, HANDLERS
from api.faces.legacy.metadata import LegacyCloudLocations, LegacyCloudProviders
from api.faces.spec import Face

FACE = Face("legacy", (LegacyBalancingAuthority, LegacyCarbonIntensity, LegacyEnergyMixture, LegacyCloudProviders,
                       LegacyCloudLocations, LegacyCarbonAwareScheduler), ERROR_SCHEMAS, HANDLERS)
