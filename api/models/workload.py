"""A workload to schedule: the original service's fields the scheduler uses, plus the new ones.

Interface
---------
- ``load_workload(data) -> Workload`` and ``load_workloads(data) -> list[Workload]`` (one
  object or a list) validate a JSON body; they raise ``marshmallow.ValidationError`` whose
  ``messages`` are keyed by field (nested: ``{"schedule": {"interval": [...]}}``,
  ``{"candidate_locations": {0: {"latitude": [...]}}}``); ``first_error(messages)`` gives the
  dotted field path (``schedule.interval``) and its message for a 400.
- ``WorkloadSchema`` is the marshmallow schema (for OpenAPI documents); the legacy face extends
  it with the original's fields that only it takes (api/faces/legacy/workload.py).
- ``Workload.runs(horizon_end=None)`` expands the schedule into ``Run``s (earliest start,
  deadline): one for ``onetime``; every ``interval`` for ``uniform-random``; exponential
  inter-arrival times of mean ``interval`` (a Poisson process), seeded by ``schedule.seed``,
  for ``poisson``. The horizon defaults to 24 h from ``start_time`` (the original's window).
- ``Workload.power_kw``, ``Workload.energy_kwh`` (per run), ``Workload.data_gb``.

Field names are the original's (c3lab-net/energy-data ``api/models/workload.py``): ``runtime``
(seconds, > 0), ``schedule`` {``type``, ``start_time`` (timezone-aware; default now; times
within api/models/bounds.py), ``interval`` (seconds; recurring types only), ``max_delay``
(seconds >= 0)}, ``dataset`` {``input_size_gb``, ``output_size_gb``}, ``original_location``,
exactly one of ``candidate_providers`` / ``candidate_locations`` [{``id``, ``latitude``,
``longitude``}], ``carbon_data_source``, ``optimize_carbon``, ``watts_per_core`` (5.0: a 240 W,
48-thread Xeon Platinum 8275CL per thread), ``core_count`` (1.0), ``carbon_accounting_mode``.
The original's other fields (ORIGINAL_ONLY: ``use_prediction``, ``desired_renewable_ratio``,
its network-route options) change nothing here: this schema refuses them, naming the legacy
route that takes them.

New: ``schedule.deadline`` (finish-by time, instead of ``max_delay``; one-time runs only),
``schedule.seed`` (Poisson arrivals), ``interruptible`` (may pause at slot boundaries),
``power_kw`` (instead of watts_per_core x core_count), ``signal`` (average or marginal
intensity), ``capacity`` per candidate location
(how many such jobs the location runs at once; absent = unlimited).

Locations are kept as given (``aws:us-west-2``, ``AWS:us-west-2``, ``CISO``, ``US-CAISO``, or
any name with coordinates); the service resolves them to grid regions. Differences from the
original, on purpose: a Poisson schedule answers (it crashed); ``original_location`` may be
absent (it crashed) and then there is no baseline and no transfer; ``dataset`` is optional
(no data moved).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

import numpy as np
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from api.models.bounds import within_calendar
from energy_data.cloud_providers import provider_name

DEFAULT_WATTS_PER_CORE = 240 / 48   # the original's default: Xeon Platinum 8275CL TDP per thread
DEFAULT_HORIZON = timedelta(days=1)
MAX_RUNS = 10_000                   # runs one workload may expand into
MAX_CAPACITY = 1_000_000            # jobs one candidate may run at once (orjson writes 64-bit ints only)
MAX_POWER_KW = 100_000.0            # 100 MW: a whole large data centre; more is a typo, not a workload
MAX_WATTS_PER_CORE = 10_000.0
MAX_CORE_COUNT = 10_000_000.0
# Every other number has a bound too: past these a value is a typo or an attack, and unbounded
# ones overflowed later (1e11 GB moved at 1 Gbit/s is past timedelta's range).
MAX_RUNTIME = timedelta(days=31)    # no run spans more (the service refuses longer spans anyway)
MAX_DELAY = timedelta(days=31)
MAX_INTERVAL = timedelta(days=366)
MAX_DATASET_GB = 1_000_000.0        # 1 PB moved per run
MAX_SEED = 2**32 - 1
MAX_CANDIDATE_LOCATIONS = 1_000


class ScheduleType(str, Enum):
    ONETIME = "onetime"
    UNIFORM_RANDOM = "uniform-random"
    POISSON = "poisson"


class CarbonAccountingMode(str, Enum):
    COMPUTE_ONLY = "compute-only"
    COMPUTE_AND_NETWORK = "compute-and-network"


class TooManyRuns(ValueError):
    """The schedule expands into more than MAX_RUNS runs over the horizon."""


@dataclass(frozen=True)
class Run:
    """One execution of a workload: it may start at `earliest` and must end by `deadline`."""

    earliest: datetime
    deadline: datetime


@dataclass(frozen=True)
class Schedule:
    type: ScheduleType
    start_time: datetime
    interval: timedelta | None = None
    max_delay: timedelta = timedelta()
    deadline: datetime | None = None
    seed: int = 0


@dataclass(frozen=True)
class Dataset:
    input_size_gb: float = 0.0
    output_size_gb: float = 0.0


@dataclass(frozen=True)
class CandidateLocation:
    id: str
    latitude: float | None = None
    longitude: float | None = None
    capacity: int | None = None          # jobs of this workload at once; None = unlimited


@dataclass(frozen=True)
class Workload:
    runtime: timedelta
    schedule: Schedule
    dataset: Dataset | None = None
    original_location: str | None = None
    candidate_providers: list[str] = field(default_factory=list)
    candidate_locations: list[CandidateLocation] = field(default_factory=list)
    carbon_data_source: str = "c3lab"
    optimize_carbon: bool = True
    watts_per_core: float = DEFAULT_WATTS_PER_CORE
    core_count: float = 1.0
    carbon_accounting_mode: CarbonAccountingMode = CarbonAccountingMode.COMPUTE_ONLY
    interruptible: bool = False
    signal: str = "average"  # average intensity, or marginal (WattTime MOER) where stored
    power_kw_given: float | None = None  # the request's power_kw, if it gave one

    @property
    def power_kw(self) -> float:
        """Power drawn while running: power_kw if given, else watts_per_core x core_count."""
        if self.power_kw_given is not None:
            return self.power_kw_given
        return self.watts_per_core * self.core_count / 1000.0

    @property
    def energy_kwh(self) -> float:
        """Energy of one run."""
        return self.power_kw * self.runtime.total_seconds() / 3600.0

    @property
    def data_gb(self) -> float:
        return 0.0 if self.dataset is None else self.dataset.input_size_gb + self.dataset.output_size_gb

    @property
    def candidates(self) -> list[str]:
        """Candidate ids as given: the locations' ids, or the provider names."""
        return [c.id for c in self.candidate_locations] or list(self.candidate_providers)

    def runs(self, horizon_end: datetime | None = None) -> list[Run]:
        """The runs whose start falls in [start_time, horizon_end) (default 24 h); raises
        TooManyRuns past MAX_RUNS."""
        s = self.schedule
        horizon_end = horizon_end or s.start_time + DEFAULT_HORIZON
        if s.type is ScheduleType.ONETIME:
            arrivals = [s.start_time]
        elif s.type is ScheduleType.UNIFORM_RANDOM:
            count = math.ceil((horizon_end - s.start_time) / s.interval)
            _check_count(count)
            arrivals = [s.start_time + k * s.interval for k in range(max(0, count))]
        else:
            arrivals = _poisson_arrivals(s.start_time, horizon_end, s.interval, s.seed)
        if s.deadline is not None:
            return [Run(a, s.deadline) for a in arrivals]
        return [Run(a, a + s.max_delay + self.runtime) for a in arrivals]


def _check_count(count: float) -> None:
    if count > MAX_RUNS:
        raise TooManyRuns(f"the schedule expands into {count:.0f} runs over the horizon; at most "
                          f"{MAX_RUNS}: raise schedule.interval or shorten the horizon")


def _poisson_arrivals(start: datetime, end: datetime, interval: timedelta, seed: int) -> list[datetime]:
    """Arrival times of a Poisson process with mean gap `interval`, reproducible by `seed`."""
    span = (end - start).total_seconds()
    mean = interval.total_seconds()
    expected = span / mean
    _check_count(expected)
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(mean, size=int(expected + 10 * math.sqrt(expected) + 10))
    offsets = np.cumsum(gaps)
    while offsets[-1] < span:   # rare: more arrivals than drawn
        offsets = np.concatenate((offsets, offsets[-1] + np.cumsum(rng.exponential(mean, len(gaps)))))
    offsets = offsets[offsets < span]
    _check_count(len(offsets))
    return [start + timedelta(seconds=float(o)) for o in offsets]


# --------------------------------------------------------------------------- schema

def _enum(kind: type[Enum], default: Enum) -> fields.Enum:
    return fields.Enum(kind, by_value=True, load_default=default,
                       error_messages={"unknown": "Must be one of: {choices}."})


# The original's fields that change nothing in this scheduler (its forecast switch, its
# renewable what-if, its traced-route options): only the legacy route takes them.
ORIGINAL_ONLY = ("use_prediction", "desired_renewable_ratio", "only_emap_full_range_isos_for_network_hops",
                 "use_new_optimization", "inter_region_route_source", "network_hop_carbon_estimation_heuristic",
                 "network_hop_carbon_estimation_minimum_known_carbon_power_ratio",
                 "network_hop_carbon_estimation_route_average_ratio_threshold",
                 "network_hop_carbon_estimation_distance_km_threshold")


def _positive_duration(value: timedelta) -> None:
    if value.total_seconds() <= 0:
        raise ValidationError("Must be greater than 0 seconds.")


def _nonnegative_duration(value: timedelta) -> None:
    if value.total_seconds() < 0:
        raise ValidationError("Must be 0 seconds or more.")


class Seconds(fields.TimeDelta):
    """A duration given in seconds, at most `maximum`: a number or a numeric string, never a
    boolean (`"runtime": true` was read as 1 s)."""

    def __init__(self, maximum: timedelta, **kwargs) -> None:
        super().__init__(precision="seconds", **kwargs)
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs) -> timedelta:
        if value is True or value is False:
            raise self.make_error("invalid")
        duration = super()._deserialize(value, attr, data, **kwargs)
        if duration > self.maximum:
            raise ValidationError(f"Must be at most {self.maximum.total_seconds():.0f} seconds "
                                  f"({self.maximum.days} days).")
        return duration


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ScheduleSchema(_Strict):
    type = _enum(ScheduleType, ScheduleType.ONETIME)
    start_time = fields.AwareDateTime(load_default=None, validate=within_calendar)
    interval = Seconds(MAX_INTERVAL, load_default=None, allow_none=True, validate=_positive_duration)
    max_delay = Seconds(MAX_DELAY, load_default=None, allow_none=True, validate=_nonnegative_duration)
    deadline = fields.AwareDateTime(load_default=None, allow_none=True, validate=within_calendar)
    seed = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SEED))

    @validates_schema
    def _consistent(self, data: dict, **kwargs) -> None:
        kind = data.get("type")
        if kind is ScheduleType.ONETIME and data.get("interval") is not None:
            raise ValidationError("interval must be empty for a onetime schedule", "interval")
        if kind not in (None, ScheduleType.ONETIME) and data.get("interval") is None:
            raise ValidationError(f"interval is required for a {kind.value} schedule", "interval")
        if data.get("deadline") is not None:
            if data.get("max_delay") is not None:
                raise ValidationError("give deadline or max_delay, not both", "deadline")
            if kind not in (None, ScheduleType.ONETIME):
                raise ValidationError("deadline is for onetime schedules; use max_delay for "
                                      "recurring ones", "deadline")

    @post_load
    def _make(self, data: dict, **kwargs) -> Schedule:
        return Schedule(data["type"], data["start_time"] or datetime.now(timezone.utc),
                        data["interval"], data["max_delay"] or timedelta(), data["deadline"],
                        data["seed"])


class DatasetSchema(_Strict):
    input_size_gb = fields.Float(required=True, validate=validate.Range(0, MAX_DATASET_GB), allow_nan=False)
    output_size_gb = fields.Float(required=True, validate=validate.Range(0, MAX_DATASET_GB), allow_nan=False)

    @post_load
    def _make(self, data: dict, **kwargs) -> Dataset:
        return Dataset(**data)


class CandidateLocationSchema(_Strict):
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    capacity = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=1, max=MAX_CAPACITY))

    @validates_schema
    def _both_coordinates(self, data: dict, **kwargs) -> None:
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            missing = "latitude" if data.get("latitude") is None else "longitude"
            raise ValidationError("give both latitude and longitude, or neither", missing)

    @post_load
    def _make(self, data: dict, **kwargs) -> CandidateLocation:
        return CandidateLocation(**data)


class WorkloadSchema(_Strict):
    runtime = Seconds(MAX_RUNTIME, required=True, validate=_positive_duration)
    schedule = fields.Nested(ScheduleSchema, required=True)
    dataset = fields.Nested(DatasetSchema, load_default=None, allow_none=True)
    original_location = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(min=1, max=200))
    candidate_providers = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list,
                                      validate=validate.Length(max=10))
    candidate_locations = fields.List(fields.Nested(CandidateLocationSchema), load_default=list,
                                      validate=validate.Length(max=MAX_CANDIDATE_LOCATIONS))
    carbon_data_source = fields.String(load_default="c3lab", validate=validate.Length(min=1, max=50))
    optimize_carbon = fields.Boolean(load_default=True)
    watts_per_core = fields.Float(load_default=None, allow_nan=False,
                                  validate=validate.Range(min=0, max=MAX_WATTS_PER_CORE, min_inclusive=False))
    core_count = fields.Float(load_default=None, allow_nan=False,
                              validate=validate.Range(min=0, max=MAX_CORE_COUNT, min_inclusive=False))
    carbon_accounting_mode = _enum(CarbonAccountingMode, CarbonAccountingMode.COMPUTE_ONLY)
    interruptible = fields.Boolean(load_default=False)
    signal = fields.String(load_default="average", validate=validate.OneOf(["average", "marginal"]), metadata={
        "description": "optimise on average intensity (default) or on marginal intensity (WattTime MOER, where "
                       "the WATTTIME source stored it)"})
    power_kw = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                            validate=validate.Range(min=0, max=MAX_POWER_KW, min_inclusive=False))

    @pre_load
    def _misplaced(self, data: Any, **kwargs) -> Any:
        misplaced(data)
        for name in ORIGINAL_ONLY:
            if isinstance(data, dict) and name in data:
                raise ValidationError("a field of the original service's scheduler that changes nothing here; "
                                      "GET /legacy/carbon-aware-scheduler/ takes it", name)
        return data

    @validates_schema
    def _consistent(self, data: dict, **kwargs) -> None:
        errors: dict[str, Any] = {}
        providers, locations = data.get("candidate_providers"), data.get("candidate_locations")
        if bool(providers) == bool(locations):
            message = "give exactly one of candidate_providers and candidate_locations, not empty"
            errors["candidate_providers"] = errors["candidate_locations"] = [message]
        errors.update(_duplicates("candidate_providers", providers or [], _provider_key,
                                  'unknown cloud provider "{}"; one of aws, gcp, azure'))
        errors.update(_duplicates("candidate_locations", [c.id for c in locations or []], str.lower, None,
                                  nested="id"))
        if data.get("power_kw") is not None and (data.get("watts_per_core") is not None
                                                 or data.get("core_count") is not None):
            errors["power_kw"] = ["give power_kw or watts_per_core/core_count, not both"]
        elif (data.get("watts_per_core") or DEFAULT_WATTS_PER_CORE) * (data.get("core_count") or 1.0) / 1000.0 \
                > MAX_POWER_KW:
            errors["core_count"] = [f"watts_per_core x core_count must be at most {MAX_POWER_KW:.0f} kW"]
        if data.get("carbon_accounting_mode") is CarbonAccountingMode.COMPUTE_AND_NETWORK \
                and not data.get("original_location"):
            errors["original_location"] = ["required when carbon_accounting_mode is compute-and-network"]
        schedule = data.get("schedule")
        runtime = data.get("runtime")
        if isinstance(schedule, Schedule) and schedule.deadline is not None and runtime is not None \
                and schedule.deadline < schedule.start_time + runtime:
            errors["schedule"] = {"deadline": ["must be at least runtime after start_time"]}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict, **kwargs) -> Workload:
        return make_workload(data)


def misplaced(data: Any) -> None:
    """ValidationError for a field given at the wrong level of the body."""
    if isinstance(data, dict) and "deadline" in data:
        raise ValidationError("deadline belongs in schedule: schedule.deadline", "deadline")


def make_workload(data: dict) -> Workload:
    """The Workload of a body's loaded fields (those of WorkloadSchema)."""
    power = data.pop("power_kw")
    data["watts_per_core"] = data["watts_per_core"] or DEFAULT_WATTS_PER_CORE
    data["core_count"] = data["core_count"] or 1.0
    return Workload(**data, power_kw_given=power)


def _provider_key(name: str) -> str | None:
    return provider_name(name)


def _duplicates(field_name: str, values: list[str], key, unknown: str | None,
                nested: str | None = None) -> dict[str, Any]:
    """Per-index errors for duplicate (and, with `unknown`, unrecognised) entries of a list."""
    problems: dict[int, Any] = {}
    seen: set = set()
    for i, value in enumerate(values):
        k = key(value)
        if k is None and unknown:
            message = unknown.format(value)
        elif k in seen:
            message = f'duplicate "{value}"'
        else:
            seen.add(k)
            continue
        problems[i] = {nested: [message]} if nested else [message]
    return {field_name: problems} if problems else {}


_SCHEMA = WorkloadSchema()


def load_workload(data: Any) -> Workload:
    """Validate one workload body; ValidationError names the offending fields."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["a workload must be a JSON object"]})
    return _SCHEMA.load(data)


def load_workloads(data: Any) -> list[Workload]:
    """One workload or a non-empty list of them; errors of item i are keyed by i."""
    if isinstance(data, dict):
        return [load_workload(data)]
    if not isinstance(data, list) or not data:
        raise ValidationError({"_schema": ["expected a workload object or a non-empty list of them"]})
    workloads, errors = [], {}
    for i, item in enumerate(data):
        try:
            workloads.append(load_workload(item))
        except ValidationError as error:
            errors[i] = error.messages
    if errors:
        raise ValidationError(errors)
    return workloads


def first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """The first offending field as a dotted path ("schedule.interval",
    "candidate_locations.0.latitude") and its message, for a 400 answer."""
    if isinstance(messages, dict) and messages:
        key = sorted(messages, key=str)[0]
        path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
        return first_error(messages[key], path)
    if isinstance(messages, list) and messages:
        return first_error(messages[0], prefix)
    return prefix or "body", str(messages)
