"""GET /metrics: Prometheus text format."""
from __future__ import annotations

from flask import Response
from flask_restful import Resource
from prometheus_client import CONTENT_TYPE_LATEST

from api import metrics
from api.faces.http import core
from api.faces.spec import Endpoint


class Metrics(Resource):
    spec = Endpoint("/metrics", "Prometheus metrics: requests, latency, data freshness", None,
                        tags=("operations",), media_type="text/plain")

    def get(self):
        self.spec.parse()
        return Response(metrics.render(core().pool), mimetype=CONTENT_TYPE_LATEST)
