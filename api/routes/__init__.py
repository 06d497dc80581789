"""One Flask-RESTful resource per module; ROUTES is what the app serves and documents."""
from api.routes.balancing_authority import BalancingAuthority
from api.routes.carbon_intensity import CarbonIntensity
from api.routes.cloud_locations import CloudLocations, CloudProviders
from api.routes.emission_factors import EmissionFactors
from api.routes.energy_mixture import EnergyMixture
from api.routes.forecast import CarbonIntensityForecast
from api.routes.health import Health
from api.routes.metrics import Metrics
from api.routes.openapi import Docs, OpenApi
from api.routes.regions import Regions

ROUTES = (BalancingAuthority, CarbonIntensity, CarbonIntensityForecast, EnergyMixture, Regions, CloudProviders, CloudLocations,
          Health, Metrics, OpenApi, Docs, EmissionFactors)
