"""GET /metadata/cloud-location/providers/ and /metadata/cloud-location/locations/<provider>/."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.faces.http import core, json_answer
from api.faces.spec import Endpoint
from api.services import cloud_locations as cloud_location
from api.services.errors import NOT_FOUND, DomainError


class Provider(Schema):
    name = fields.String(required=True)
    locations = fields.Integer(required=True)
    covered = fields.Integer(required=True, metadata={"description": "how many of them lie in a zone covered here"})


class ProvidersAnswer(Schema):
    providers = fields.List(fields.Nested(Provider), required=True)


class Location(Schema):
    id = fields.String(required=True, metadata={"description": "provider:name, usable as location=..."})
    name = fields.String(required=True)
    display_name = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    zone = fields.String(required=True, metadata={
        "description": "the grid zone the region draws from: our region id in the US, the Electricity Maps "
                       "zone key elsewhere (stored in the catalogue, derived once from the coordinates)"})
    zone_source = fields.String(required=True, metadata={"description": "how the zone was derived"})
    region = fields.String(allow_none=True, required=True, metadata={
        "description": "our region for that zone; null when the zone is not covered here"})
    covered = fields.Boolean(required=True)
    not_covered_reason = fields.String(allow_none=True, required=True, metadata={
        "description": "why the zone has no data here; null when covered"})
    citation = fields.String(required=True, metadata={"description": "where the coordinates come from"})


class LocationsAnswer(Schema):
    provider = fields.String(required=True)
    locations = fields.List(fields.Nested(Location), required=True)


class CloudProviders(Resource):
    spec = Endpoint("/metadata/cloud-location/providers/", "Cloud providers with known regions",
                        ProvidersAnswer, tags=("cloud locations",))

    def get(self):
        self.spec.parse()
        lookup = core().locator
        answer = []
        for name in cloud_location.providers():
            places = cloud_location.locations(name)
            covered = sum(lookup.region_named(p.zone) is not None for p in places)
            answer.append({"name": name, "locations": len(places), "covered": covered})
        return json_answer({"providers": answer})


class CloudLocations(Resource):
    spec = Endpoint("/metadata/cloud-location/locations/{provider}/",
                        "A provider's cloud regions with coordinates, grid zone and coverage", LocationsAnswer,
                        tags=("cloud locations",), errors={404: "Unknown provider"},
                        path_params={"provider": "aws, gcp or azure (also gcloud, google, amazon, microsoft)"})

    def get(self, provider: str):
        self.spec.parse()
        canonical = cloud_location.provider_name(provider)  # aliases too: gcloud, google, amazon, microsoft
        if canonical is None:
            raise DomainError("unknown_provider", f"unknown provider {provider!r}; known: "
                              f"{', '.join(cloud_location.providers())}", "provider", NOT_FOUND)
        lookup = core().locator
        answer = []
        for p in cloud_location.locations(canonical):
            region = lookup.region_named(p.zone)
            answer.append({
                "id": p.id, "name": p.name, "display_name": p.display_name, "latitude": p.latitude,
                "longitude": p.longitude, "zone": p.zone, "zone_source": p.zone_source, "region": region,
                "covered": region is not None,
                "not_covered_reason": None if region else cloud_location.not_covered_reason(p.zone),
                "citation": p.citation})
        return json_answer({"provider": canonical, "locations": answer})
