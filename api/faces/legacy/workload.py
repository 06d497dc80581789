"""The original service's workload body: the scheduler's own fields (api/models/workload.py)
plus those only the original had, which change nothing in the schedule but are validated as it
validated them and echoed back in the answer's `request`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate

from api.models.workload import Workload, WorkloadSchema, make_workload, misplaced

MAX_DISTANCE_KM = 1_000_000.0
_ratio = validate.Range(min=0, max=1)


class InterRegionRouteSource(str, Enum):
    ITDK = "itdk"
    IGDB_NO_POPS = "igdb.no-pops"
    IGDB_WITH_POPS = "igdb.with-pops"
    ITDK_AND_IGDB_NO_POPS = "itdk+igdb.no-pops"
    ITDK_AND_IGDB_WITH_POPS = "itdk+igdb.with-pops"


class NetworkHopHeuristic(str, Enum):
    NO_ESTIMATION = "no-estimation"
    ROUTE_AVERAGE = "route-average"
    NEAREST_NEIGHBOR = "nearest-neighbor"
    WORLD_AVERAGE = "world-average"


@dataclass(frozen=True)
class OriginalOptions:
    """The original's fields the scheduler does not use: use_prediction starts a run no earlier
    than now (as the original's forecast did); desired_renewable_ratio is refused with a warning;
    the network-route ones are echoed."""

    use_prediction: bool = False
    desired_renewable_ratio: float | None = None
    only_emap_full_range_isos_for_network_hops: bool = False
    use_new_optimization: bool = True
    inter_region_route_source: InterRegionRouteSource = InterRegionRouteSource.ITDK
    network_hop_carbon_estimation_heuristic: NetworkHopHeuristic = NetworkHopHeuristic.ROUTE_AVERAGE
    network_hop_carbon_estimation_minimum_known_carbon_power_ratio: float = 0.75
    network_hop_carbon_estimation_route_average_ratio_threshold: float = 0.75
    network_hop_carbon_estimation_distance_km_threshold: float = 50000.0


def _enum(kind: type[Enum], default: Enum) -> fields.Enum:
    return fields.Enum(kind, by_value=True, load_default=default,
                       error_messages={"unknown": "Must be one of: {choices}."})


class LegacyWorkloadSchema(WorkloadSchema):
    use_prediction = fields.Boolean(load_default=False)
    desired_renewable_ratio = fields.Float(load_default=None, allow_none=True, validate=_ratio)
    only_emap_full_range_isos_for_network_hops = fields.Boolean(load_default=False)
    use_new_optimization = fields.Boolean(load_default=True)
    inter_region_route_source = _enum(InterRegionRouteSource, InterRegionRouteSource.ITDK)
    network_hop_carbon_estimation_heuristic = _enum(NetworkHopHeuristic, NetworkHopHeuristic.ROUTE_AVERAGE)
    network_hop_carbon_estimation_minimum_known_carbon_power_ratio = fields.Float(load_default=0.75, validate=_ratio)
    network_hop_carbon_estimation_route_average_ratio_threshold = fields.Float(load_default=0.75, validate=_ratio)
    network_hop_carbon_estimation_distance_km_threshold = fields.Float(load_default=50000.0, allow_nan=False,
                                                                       validate=validate.Range(0, MAX_DISTANCE_KM))

    @pre_load
    def _misplaced(self, data: Any, **kwargs) -> Any:  # the original's fields are this schema's own
        misplaced(data)
        return data

    @post_load
    def _make(self, data: dict, **kwargs) -> tuple[Workload, OriginalOptions]:
        options = OriginalOptions(**{f.name: data.pop(f.name) for f in dataclasses.fields(OriginalOptions)})
        return make_workload(data), options


_SCHEMA = LegacyWorkloadSchema()
# The answer's `request` lists the fields in the original's order, then the new ones.
ECHO_ORDER = ("runtime", "schedule", "dataset", "original_location", "candidate_providers", "candidate_locations",
              "carbon_data_source", "use_prediction", "desired_renewable_ratio", "optimize_carbon",
              "only_emap_full_range_isos_for_network_hops", "watts_per_core", "core_count", "use_new_optimization",
              "carbon_accounting_mode", "inter_region_route_source", "network_hop_carbon_estimation_heuristic",
              "network_hop_carbon_estimation_minimum_known_carbon_power_ratio",
              "network_hop_carbon_estimation_route_average_ratio_threshold",
              "network_hop_carbon_estimation_distance_km_threshold", "interruptible", "signal", "power_kw")


def load_legacy_workload(data: Any) -> tuple[Workload, OriginalOptions]:
    """Validate one workload body with the original's fields; ValidationError names the fields."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["a workload must be a JSON object"]})
    return _SCHEMA.load(data)


def request_echo(workload: Workload, options: OriginalOptions) -> dict:
    """The workload as the original echoed it: every field with defaults, enums by value,
    durations as HH:MM:SS."""
    def plain(value):
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, timedelta):
            return duration_text(value)
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value
    fields_ = {**plain(dataclasses.asdict(workload)), **plain(dataclasses.asdict(options))}
    fields_["power_kw"] = fields_.pop("power_kw_given")
    return {**{name: fields_[name] for name in ECHO_ORDER if name in fields_}, **fields_}


def duration_text(value: timedelta) -> str:
    """As the original's JSON encoder wrote durations: a time of day, HH:MM:SS."""
    return (datetime.min + value).time().isoformat()
