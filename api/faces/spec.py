"""One declaration per endpoint, used twice: to validate the query string (webargs and
marshmallow) and to write the OpenAPI 3 document (apispec). There is no second copy. A Face
declares its endpoints, its error formats (as OpenAPI schemas) and how it renders errors."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import request
from marshmallow import RAISE, Schema, fields
from webargs.flaskparser import FlaskParser

from api.faces.http import control_character_parameter, request_parameters
from api.services.errors import TOO_LARGE, DomainError

MAX_QUERY_STRING = 2048


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        parameter, messages = _first_problem(error.messages)
        if messages == ["Unknown field."]:
            raise DomainError("unknown_parameter", unknown_parameter_message(parameter), parameter)
        raise DomainError("invalid_parameter", f"{parameter}: {' '.join(messages)}", parameter)


def _first_problem(messages: dict) -> tuple[str, list[str]]:
    messages = messages.get("query", messages)  # webargs keys messages by location
    parameter = sorted(messages)[0]
    problem = messages[parameter]
    if isinstance(problem, dict):  # a schema-level message
        problem = [str(v) for v in problem.values()]
    return parameter, [str(p) for p in problem]


parser = _Parser()


@functools.cache
def _schema(args: type[Schema]) -> Schema:
    """One instance per schema class: building one deep-copies every field, which cost more
    than validating a query string; loading with a shared instance is safe (it keeps no state)."""
    return args()


@dataclass(frozen=True)
class Endpoint:
    """What an endpoint accepts and answers, for validation and for the OpenAPI document."""

    path: str
    summary: str
    response: type[Schema] | dict | None  # dict: an OpenAPI schema (a bare array); None: not described
    args: type[Schema] | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    errors: dict[int, str] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description
    media_type: str = "application/json"
    method: str = "get"
    body: type[Schema] | None = None  # a JSON request body (POST), documented as requestBody
    error_schema: str = "Error"  # the components schema of error answers
    error_media_type: str = "application/json"
    no_content: str = ""  # when the answer is a 204 without a body, if it can be

    @property
    def rule(self) -> str:
        """The Flask URL rule: OpenAPI's {name} written <name>."""
        return self.path.replace("{", "<").replace("}", ">")

    def parse(self) -> dict:
        """The validated query parameters; DomainError naming the first bad one."""
        if len(request.query_string) > MAX_QUERY_STRING:
            raise DomainError("query_too_long", f"the query string is over {MAX_QUERY_STRING} characters",
                              kind=TOO_LARGE)
        name = control_character_parameter(request_parameters())
        if name is not None:  # an identifier differing from a region's by a NUL must not resolve to it
            raise DomainError("invalid_parameter", f"{name}: control characters are not allowed", name)
        self._refuse_repeats()
        if self.args is None:
            if request.args:
                name = next(iter(request.args))
                raise DomainError("unknown_parameter", unknown_parameter_message(name), name)
            return {}
        return parser.parse(_schema(self.args), request, location="query", unknown=RAISE)

    def _refuse_repeats(self) -> None:
        """A parameter given twice (?region=A&region=B) is a 400 naming it, unless it is
        declared as a list: taking the first one silently would answer another question."""
        declared = _schema(self.args).fields if self.args is not None else {}
        for name in request.args:
            count = len(request.args.getlist(name))
            if count > 1 and name in declared and not isinstance(declared[name], fields.List):
                raise DomainError("repeated_parameter", f"{name} is given {count} times: give it once", name)

    def operation(self) -> dict:
        body = self.response if self.response is not None else {"type": "object" if self.media_type ==
                                                                  "application/json" else "string"}
        responses = {"200": {"description": "OK", "content": {self.media_type: {"schema": body}}}}
        for status, why in {400: "Invalid or unknown parameter", **self.errors}.items():
            responses[str(status)] = {
                "description": why,
                "content": {self.error_media_type: {"schema": self.error_schema}},
            }
        if self.no_content:
            responses["204"] = {"description": self.no_content}
        operation = {"summary": self.summary, "description": self.description or self.summary,
                     "tags": list(self.tags), "responses": responses}
        parameters = [{"in": "path", "name": name, "required": True, "description": why,
                       "schema": {"type": "string"}} for name, why in self.path_params.items()]
        if self.args is not None:
            parameters.append({"in": "query", "schema": self.args})
        if parameters:
            operation["parameters"] = parameters
        if self.body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": self.body}}}
        return operation


@dataclass(frozen=True)
class Face:
    """One way into the API: its resources (each with its Endpoint as `spec`), the error
    schemas its endpoints name in the OpenAPI document (component name -> marshmallow schema,
    or an OpenAPI schema written out), and how it renders errors (exception type -> a function
    answering the response); a face's handlers answer only for its own resources."""

    name: str
    routes: tuple
    error_schemas: dict[str, type[Schema] | dict]
    handlers: dict[type[Exception], Callable]


def openapi_document(faces: tuple[Face, ...], version: str) -> dict:
    spec = APISpec(
        title="energy-data",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Carbon intensity and generation mix of US grid regions, from ISO and EIA data. "
                             "Times are ISO 8601 with an offset or Z; intervals are named by their start, in UTC; "
                             "power in MW, intensity in gCO2eq/kWh."},
    )
    for face in faces:
        for name, schema in face.error_schemas.items():
            if isinstance(schema, dict):  # written as OpenAPI itself (a oneOf, say)
                spec.components.schema(name, component=schema)
            else:
                spec.components.schema(name, schema=schema)
    operations: dict[str, dict] = {}
    for endpoint in (route.spec for face in faces for route in face.routes):
        operations.setdefault(endpoint.path, {})[endpoint.method] = endpoint.operation()
    for path, by_method in operations.items():
        spec.path(path=path, operations=by_method)
    return spec.to_dict()


# The original service's query parameters that the native endpoints do not take, and what
# replaces each: a client moving over is told where to go rather than only that it is wrong.
ORIGINAL_PARAMETERS = {
    "iso": "the original's iso=PREFIX:NAME is region= here (region=watttime:CAISO_NORTH, c3lab:US-CAISO and "
           "emap:US-CAL-CISO all work); /legacy/carbon-intensity/ still takes iso=",
    "iso_format": "answers name the region by its id and list every alias (WattTime, Electricity Maps, the "
                  "original's) in GET /regions/; /legacy/balancing-authority/ still takes iso_format=",
    "carbon_data_source": "choose the data with source= (source=ELECTRICITYMAPS for imported Electricity Maps "
                          "data; by default our crawled data); /legacy/carbon-intensity/ still takes "
                          "carbon_data_source=",
    "use_prediction": "forecasts are GET /carbon-intensity/forecast/; /legacy/carbon-intensity/ still takes "
                      "use_prediction=",
    "desired_renewable_ratio": "it has no native equivalent; /legacy/carbon-intensity/ takes "
                               "desired_renewable_ratio=",
}


def unknown_parameter_message(name: str) -> str:
    """Why `name` is refused, and what replaces it when it is one of the original service's."""
    hint = ORIGINAL_PARAMETERS.get(name)
    return f"unknown parameter {name!r}" + (f": {hint}" if hint else "")
