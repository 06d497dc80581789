"""GET /emission-factors/: which emission factor answers each fuel of a region at a time, and why."""
from __future__ import annotations

from flask_restful import Resource
from marshmallow import Schema, fields, validate

from api.faces.http import core, json_answer
from api.faces.native.params import LocationArgs, locate, time_field
from api.faces.spec import Endpoint
from api.models.times import iso, utc_now
from api.services.regions import AnsweringFactor, factors


class EmissionFactorsArgs(LocationArgs):
    at = time_field("The time the factors apply at (default: now)", required=False)
    emission_factor_type = fields.String(load_default="lifecycle", validate=validate.OneOf(["lifecycle", "direct"]),
                                         metadata={"description": "lifecycle (with upstream emissions) or direct "
                                                                  "(combustion only)"})
    emission_factors = fields.String(load_default="regional", validate=validate.OneOf(["regional", "ipcc"]), metadata={
        "description": "regional (the region's own figures first) or ipcc (the global set alone)"})


class FactorDoc(Schema):
    fuel = fields.String(required=True, metadata={"description": "a fuel of the vocabulary"})
    value = fields.Float(allow_none=True, required=True, metadata={
        "description": "gCO2eq/kWh; null for storage, whose discharge takes the charging energy's intensity"})
    unit = fields.String(required=True)
    scope = fields.String(required=True, metadata={
        "description": "why this factor answers: region (the region's own figure), global (no regional "
                       "figure: the default set), storage (computed from the charging hours)"})
    source = fields.String(required=True, metadata={"description": "short name of the figure's source"})
    citation = fields.String(required=True, metadata={"description": "where the figure comes from"})
    valid_from = fields.String(allow_none=True, required=True)
    valid_to = fields.String(allow_none=True, required=True, metadata={
        "description": "exclusive; null: until a newer figure is added"})


class EmissionFactorsAnswer(Schema):
    region = fields.String(required=True)
    emission_factor_type = fields.String(required=True)
    emission_factors = fields.String(required=True)
    at = fields.String(required=True)
    factors = fields.List(fields.Nested(FactorDoc), required=True)


class EmissionFactors(Resource):
    spec = Endpoint(
        "/emission-factors/", "The emission factors a region's intensity uses at a time",
        EmissionFactorsAnswer, EmissionFactorsArgs,
        description="One entry per fuel: the factor used for the region at `at`, its source and citation, the "
                    "period it is valid for, and whether it is the region's own figure or the global default.",
        tags=("carbon intensity",),
        errors={404: "Unknown region or location; no region at the coordinates",
                503: "Database or boundaries unavailable"})

    def get(self):
        args = self.spec.parse()
        located = locate(args)
        at = args.get("at") or utc_now()
        answering = factors(core().pool, core().locator, located.region, at, args["emission_factor_type"],
                            args["emission_factors"])
        return json_answer({
            "region": located.region,
            "emission_factor_type": args["emission_factor_type"],
            "emission_factors": args["emission_factors"],
            "at": iso(at),
            "factors": [_factor_json(f) for f in answering],
        }, at if args.get("at") else None)


def _factor_json(factor: AnsweringFactor) -> dict:
    return {"fuel": factor.fuel, "value": factor.value, "unit": "gCO2eq/kWh", "scope": factor.scope,
            "source": factor.source, "citation": factor.citation, "valid_from": iso(factor.valid_from),
            "valid_to": iso(factor.valid_to)}
