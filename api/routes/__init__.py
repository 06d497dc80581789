"""One Flask-RESTful resource per module; ROUTES is what the app serves and documents."""
from api.routes.balancing_authority import BalancingAuthority
from api.routes.carbon_intensity import CarbonIntensity
from api.routes.cloud_locations import CloudLocations, CloudProviders
from api.routes.energy_mixture import EnergyMixture
from api.routes.forecast import CarbonIntensityForecast
from api.routes.health import Health
from api.routes.legacy import LEGACY_ROUTES
from api.routes.metrics import Metrics
from api.routes.openapi import Docs, OpenApi
from api.routes.regions import Regions
from api.routes.carbon_aware_sdk.average_carbon_intensity import AverageCarbonIntensity
from api.routes.carbon_aware_sdk.average_carbon_intensity_batch import AverageCarbonIntensityBatch
from api.routes.carbon_aware_sdk.emissions_best import BestEmissions
from api.routes.carbon_aware_sdk.emissions_by_location import EmissionsByLocation
from api.routes.carbon_aware_sdk.emissions_by_locations import EmissionsByLocations
from api.routes.carbon_aware_sdk.forecasts_batch import BatchForecast
from api.routes.carbon_aware_sdk.forecasts_current import CurrentForecast
from api.routes.carbon_aware_sdk.locations import Locations

ROUTES = (BalancingAuthority, CarbonIntensity, CarbonIntensityForecast, EnergyMixture, Regions, CloudProviders, CloudLocations,
          Health, Metrics, OpenApi, Docs)
# The Carbon Aware SDK's routes, at its own paths.
SDK_ROUTES = (EmissionsByLocation, EmissionsByLocations, BestEmissions, CurrentForecast, BatchForecast,
              AverageCarbonIntensity, AverageCarbonIntensityBatch, Locations)
ROUTES += SDK_ROUTES
# The original service's routes under /legacy/.
ROUTES += LEGACY_ROUTES
