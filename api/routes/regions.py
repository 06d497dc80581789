"""GET /regions/: every region with its aliases, sources, time zone and data span."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.answers import RegionDoc, json_answer, region_doc, utc_now
from api.services import pool
from api.spec import Endpoint
from database.regions import all_regions, all_series


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
        with pool().cursor() as cur:
            regions = all_regions(cur)
            series = all_series(cur)
        by_region: dict[str, list] = {}
        for s in series:
            by_region.setdefault(s.region, []).append(s)
        return json_answer({"regions": [region_doc(r, by_region.get(r.code, []), now) for r in regions]})
