"""GET /legacy/metadata/cloud-location/providers/ and .../locations/<provider>/: the original's
cloud catalogue answers (bare arrays), from our catalogue."""
from __future__ import annotations

from flask_restful import Resource

from api.faces.http import json_answer
from api.faces.legacy.errors import ERROR_OR_TEXT_SCHEMA, ERROR_SCHEMA, answer
from api.faces.legacy.schemas import TAG
from api.faces.spec import Endpoint
from api.services import cloud_locations as cloud_location
from api.services.legacy import LEGACY_PROVIDERS, legacy_provider

NAMES = {"type": "array", "items": {"type": "string"}}


class LegacyCloudProviders(Resource):
    spec = Endpoint("/legacy/metadata/cloud-location/providers/", "The original's cloud providers", NAMES,
                    tags=(TAG,), error_schema=ERROR_SCHEMA,
                    description="A bare array of provider names as the original spelled them (AWS, Azure, gcloud). "
                                "Native equivalent: /metadata/cloud-location/providers/.")

    def get(self):
        return json_answer(sorted(LEGACY_PROVIDERS))


class LegacyCloudLocations(Resource):
    spec = Endpoint("/legacy/metadata/cloud-location/locations/{provider}/", "The original's cloud regions of a "
                    "provider", NAMES, tags=(TAG,), error_schema=ERROR_OR_TEXT_SCHEMA,
                    errors={404: "Unknown provider: the body is the JSON string \"Provider <name> not found\""},
                    path_params={"provider": "AWS, Azure or gcloud"},
                    description="A bare array of region codes. Native equivalent: "
                                "/metadata/cloud-location/locations/<provider>/.")

    def get(self, provider: str):
        canonical = legacy_provider(provider)
        if canonical is None:
            return answer(f"Provider {provider} not found", 404)  # the original's body: a JSON string
        return json_answer([place.name for place in cloud_location.locations(canonical)])
