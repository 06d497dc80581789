"""schemathesis against /openapi.json: generated requests, valid and invalid, must never get
a server error, and every answer must match the documented status codes and schemas."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from api import create_app
from api.faces import ROUTES

# Times anywhere in the calendar, with the extreme offsets too: 0001-01-01T00:00+14:00 has no
# UTC equivalent in Python, which the default generator would hardly ever try.
_OFFSETS = st.sampled_from([timezone.utc, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14)),
                            timezone(timedelta(hours=5, minutes=30))])
_LIMITS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
           "9999-12-31T23:59:59.999999Z", "1899-12-31T23:59:59-01:00", "2200-01-01T00:00:00+01:00"]
schemathesis.openapi.format("date-time", st.one_of(
    st.sampled_from(_LIMITS),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_OFFSETS)
    .map(datetime.isoformat),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=_OFFSETS)
    .map(datetime.isoformat)))

# Every route the app serves, but the schema's own path, which schemathesis leaves out.
OPERATIONS = sorted((r.spec.path, r.spec.method.upper()) for r in ROUTES if r.spec.path != "/openapi.json")


@pytest.fixture(scope="module")
def api_schema(filled, shared_fixtures):
    import os

    os.environ["ENERGY_DATA_BOUNDARIES"] = str(shared_fixtures.parent / "geo" / "us_zones.geojson")
    yield schemathesis.openapi.from_wsgi("/openapi.json", create_app(filled))
    os.environ.pop("ENERGY_DATA_BOUNDARIES", None)


def test_every_route_is_documented_and_fuzzed(api_schema):
    documented = {(result.ok().path, result.ok().method.upper()) for result in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path, method", OPERATIONS)
def test_no_server_errors_and_answers_match_the_schema(api_schema, path, method, mode):
    operation = api_schema[path][method]
    if not list(operation.iter_parameters()):
        if mode is GenerationMode.NEGATIVE:
            pytest.skip("no parameter to make invalid")
        operation.Case().call_and_validate()
        return

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        # OpenAPI 3.0 cannot say "exactly one of region, latitude+longitude or location" for
        # query parameters, so schema-valid requests may be rightly refused with a 400.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("every string is a valid value here: nothing invalid to generate")
