"""One Flask-RESTful resource per module; ROUTES is what the app serves and documents."""
from api.routes.balancing_authority import BalancingAuthority
from api.routes.best_window import BestWindow
from api.routes.carbon_aware_scheduler import CarbonAwareScheduler
from api.routes.carbon_aware_sdk import SDK_ROUTES
from api.routes.carbon_intensity import CarbonIntensity
from api.routes.cloud_locations import CloudLocations, CloudProviders
from api.routes.dashboard import Dashboard, PlotlyBundle, RegionBoundaries
from api.routes.emission_factors import EmissionFactors
from api.routes.energy_mixture import EnergyMixture
from api.routes.forecast import CarbonIntensityForecast
from api.routes.health import Health
from api.routes.latest_intensity import LatestCarbonIntensity
from api.routes.legacy import LEGACY_ROUTES
from api.routes.metrics import Metrics
from api.routes.openapi import Docs, OpenApi
from api.routes.regions import Regions
from api.routes.sources import Sources

# One entry per line group, so that branches adding routes touch different lines.
ROUTES = (
    (BalancingAuthority, Regions, CarbonIntensity, CarbonIntensityForecast, EnergyMixture)
    + (EmissionFactors,)
    + (LatestCarbonIntensity,)  # the newest value of every region (the dashboard's map)
    + (CloudProviders, CloudLocations)
    + (CarbonAwareScheduler, BestWindow)
    + (Sources, Dashboard, PlotlyBundle, RegionBoundaries)  # the dashboard page and what only it needs
    + (Health, Metrics, OpenApi, Docs)
    + SDK_ROUTES  # the Carbon Aware SDK's routes, at its own paths
    + LEGACY_ROUTES  # the original service's routes under /legacy/
)
