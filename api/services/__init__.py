"""What the routes call: the services of one app (database pool, locator, OpenAPI document),
reached through typed accessors rather than string keys of app.config.

Routes use `pool()` and `locator()` inside a request; `install` sets them up once per app.
Modules here: location (which region a request means), sources (which source answers),
forecasting (issue and measure forecasts), boundaries and cloud_locations (lookup data)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from api.services.location import Locator
from database.pool import Pool

_KEY = "energy_data"


@dataclass
class Services:
    pool: Pool
    locator: Locator
    openapi: dict | None = None


def install(app: Flask, services: Services) -> None:
    app.extensions[_KEY] = services


def services() -> Services:
    """The services of the app handling the current request."""
    return current_app.extensions[_KEY]


def pool() -> Pool:
    return services().pool


def locator() -> Locator:
    return services().locator
