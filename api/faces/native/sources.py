"""GET /sources/: every crawler source, how fresh its data is (the dashboard's freshness table)."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields

from api.faces.http import core, json_answer
from api.faces.spec import Endpoint
from api.models.times import iso, utc_now
from api.services import status


class SourceFreshnessDoc(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "description": "ok; stale (newest data older than stale_after_minutes); failing (the newest crawl "
                       "failed); no_data"})
    interval_minutes = fields.Integer(required=True, metadata={"description": "length of the source's intervals"})
    frequency_minutes = fields.Integer(required=True, metadata={"description": "how often the crawler asks"})
    stale_after_minutes = fields.Integer(required=True)
    last_success = fields.String(allow_none=True, required=True, metadata={
        "description": "end of the newest crawl that stored data (replays and backfills not counted)"})
    last_attempt = fields.String(allow_none=True, required=True, metadata={"description": "end of the newest crawl"})
    last_status = fields.String(allow_none=True, required=True, metadata={
        "description": "ok, partial, failed, interrupted or running"})
    last_error = fields.String(allow_none=True, required=True)
    newest_data = fields.String(allow_none=True, required=True, metadata={
        "description": "start of the newest interval stored, any region"})
    regions = fields.Integer(required=True, metadata={"description": "regions holding this source's data"})
    rows = fields.Integer(required=True, metadata={"description": "intervals stored, all regions"})
    estimated_share = fields.Float(allow_none=True, required=True, metadata={
        "description": "share of the intervals of the source's newest day of data (per region, the 24 h before its "
                       "newest interval) that hold an estimate; null without data"})


class SourcesAnswer(Schema):
    now = fields.String(required=True)
    sources = fields.List(fields.Nested(SourceFreshnessDoc), required=True)


class Sources(Resource):
    spec = Endpoint("/sources/", "Every crawler source and how fresh its data is", SourcesAnswer,
                    description="Per source: state, last successful crawl, newest data stored, last error.",
                    tags=("operations",))

    def get(self):
        self.spec.parse()
        now = utc_now()
        sources = status.freshness(core().pool)
        return json_answer({"now": iso(now), "sources": [{
            "name": s.name, "description": s.description, "state": s.state(now),
            "interval_minutes": s.interval_minutes,
            "frequency_minutes": int(s.frequency.total_seconds() // 60),
            "stale_after_minutes": int(s.stale_after.total_seconds() // 60),
            "last_success": iso(s.last_success), "last_attempt": iso(s.last_attempt),
            "last_status": s.last_status, "last_error": s.last_error, "newest_data": iso(s.newest_data),
            "regions": s.regions, "rows": s.rows, "estimated_share": s.estimated_share} for s in sources]})
