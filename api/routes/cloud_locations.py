"""GET /metadata/cloud-location/providers/ and /metadata/cloud-location/locations/<provider>/."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.answers import json_answer
from api.errors import ApiError
from api.services import locator
from api.spec import Endpoint
from api.services import cloud_locations as cloud_location


class Provider(Schema):
    name = fields.String(required=True)
    locations = fields.Integer(required=True)


class ProvidersAnswer(Schema):
    providers = fields.List(fields.Nested(Provider), required=True)


class Location(Schema):
    id = fields.String(required=True, metadata={"description": "provider:name, usable as location=..."})
    name = fields.String(required=True)
    display_name = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    region = fields.String(allow_none=True, required=True, metadata={
        "description": "the grid region the data centre sits in; null outside every known region"})
    citation = fields.String(required=True)


class LocationsAnswer(Schema):
    provider = fields.String(required=True)
    locations = fields.List(fields.Nested(Location), required=True)


class CloudProviders(Resource):
    spec = Endpoint("/metadata/cloud-location/providers/", "Cloud providers with known regions",
                        ProvidersAnswer, tags=("cloud locations",))

    def get(self):
        self.spec.parse()
        return json_answer({"providers": [{"name": p, "locations": len(cloud_location.locations(p))}
                                          for p in cloud_location.providers()]})


class CloudLocations(Resource):
    spec = Endpoint("/metadata/cloud-location/locations/{provider}/",
                        "A provider's cloud regions with coordinates and grid region", LocationsAnswer,
                        tags=("cloud locations",), errors={404: "Unknown provider"},
                        path_params={"provider": "aws, gcp or azure (also gcloud, google, amazon, microsoft)"})

    def get(self, provider: str):
        self.spec.parse()
        canonical = cloud_location.provider_name(provider)  # aliases too: gcloud, google, amazon, microsoft
        if canonical is None:
            raise ApiError(404, "unknown_provider", f"unknown provider {provider!r}; known: "
                           f"{', '.join(cloud_location.providers())}", "provider")
        lookup = locator()
        boundaries = lookup.boundaries()
        places = cloud_location.locations(canonical)
        return json_answer({"provider": canonical, "locations": [{
            "id": f"{p.provider}:{p.name}", "name": p.name, "display_name": p.display_name,
            "latitude": p.latitude, "longitude": p.longitude,
            "region": boundaries.locate(p.latitude, p.longitude) if boundaries else None,
            "citation": p.citation} for p in places]})
