"""GET /regions/: every region with its aliases, sources, time zone and data span."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.faces.http import core, json_answer
from api.faces.native.answers import RegionDoc, region_doc
from api.faces.spec import Endpoint
from api.models.times import utc_now
from api.services.regions import every_region


class RegionsAnswer(Schema):
    regions = fields.List(fields.Nested(RegionDoc), required=True)


class Regions(Resource):
    spec = Endpoint("/regions/", "Every region, its aliases and its data", RegionsAnswer,
                        description="Balancing authorities by canonical id (EIA code in the US, Electricity "
                                    "Maps zone key elsewhere: DE, SE-SE3, AU-NSW, CA-QC), with every alias the "
                                    "other parameters accept, the sources holding data, and the span of it.",
                        tags=("regions",))

    def get(self):
        self.spec.parse()
        now = utc_now()
        return json_answer({"regions": [region_doc(region, series, now)
                                        for region, series in every_region(core().pool)]})
