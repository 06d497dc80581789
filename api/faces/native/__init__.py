"""The native API: one Flask-RESTful resource per module, answers shaped by answers.py from what
the core (api/services/) returns, query parameters in params.py, errors in errors.py."""
from api.faces.native.balancing_authority import BalancingAuthority
from api.faces.native.best_window import BestWindow
from api.faces.native.carbon_aware_scheduler import CarbonAwareScheduler
from api.faces.native.carbon_intensity import CarbonIntensity
from api.faces.native.cloud_locations import CloudLocations, CloudProviders
from api.faces.native.dashboard import Dashboard, PlotlyBundle, RegionBoundaries
from api.faces.native.emission_factors import EmissionFactors
from api.faces.native.energy_mixture import EnergyMixture
from api.faces.native.errors import Error, render
from api.faces.native.forecast import CarbonIntensityForecast
from api.faces.native.health import Health
from api.faces.native.latest_intensity import LatestCarbonIntensity
from api.faces.native.metrics import Metrics
from api.faces.native.openapi import Docs, OpenApi
from api.faces.native.regions import Regions
from api.faces.native.sources import Sources
from api.faces.spec import Face
from api.services.errors import DomainError

# One entry per line group, so that branches adding routes touch different lines.
ROUTES = (
    (BalancingAuthority, Regions, CarbonIntensity, CarbonIntensityForecast, EnergyMixture)
    + (EmissionFactors,)
    + (LatestCarbonIntensity,)  # the newest value of every region (the dashboard's map)
    + (CloudProviders, CloudLocations)
    + (CarbonAwareScheduler, BestWindow)
    + (Sources, Dashboard, PlotlyBundle, RegionBoundaries)  # the dashboard page and what only it needs
    + (Health, Metrics, OpenApi, Docs)
)

FACE = Face("native", ROUTES, {"Error": Error}, {DomainError: render})
