"""Pieces several native answers are made of: the region document and the coverage of a
series answer (how complete it is, and why not)."""
from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, fields

from api.models.times import iso
from api.services.regions import Region, Series
from api.services.sources import default_series


class SourceDoc(Schema):
    name = fields.String(required=True, metadata={"description": "crawler source: CAISO, NYISO, EIA, ..."})
    interval_minutes = fields.Integer(required=True)
    first_data = fields.String(required=True, metadata={"description": "start of the oldest stored interval"})
    newest_data = fields.String(required=True, metadata={"description": "start of the newest stored interval"})
    stale = fields.Boolean(required=True, metadata={"description": "newest data older than the feed's threshold"})
    default = fields.Boolean(required=True, metadata={"description": "answers when no source is asked for"})


class RegionDoc(Schema):
    id = fields.String(required=True, metadata={"description": "canonical id: the EIA balancing-authority code"})
    name = fields.String(required=True)
    time_zone = fields.String(required=True)
    aliases = fields.List(fields.String(), required=True)
    sources = fields.List(fields.Nested(SourceDoc), required=True)
    first_data = fields.String(allow_none=True, required=True)
    newest_data = fields.String(allow_none=True, required=True)


class CoverageDoc(Schema):
    intervals = fields.Integer(required=True, metadata={"description": "points in the answer"})
    expected_intervals = fields.Integer(required=True, metadata={
        "description": "points a complete series would have over the range, up to now"})
    estimated_intervals = fields.Integer(required=True, metadata={
        "description": "points in the answer that hold an estimate (a fuel the source did not report, rejected "
                       "or anomalous, estimated by the method each point names)"})
    missing_intervals = fields.Integer(required=True, metadata={
        "description": "expected_intervals less intervals: gaps in the source's data, intervals whose mix lost a "
                       "fuel that could not be estimated, and with estimated=false the estimated ones"})
    first = fields.String(allow_none=True, required=True)
    last = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True, metadata={"description": "why data is missing, if it is"})


def region_doc(region: Region, series: list[Series], now: datetime) -> dict:
    default = default_series(series, now)
    return {
        "id": region.code,
        "name": region.name,
        "time_zone": region.time_zone,
        "aliases": list(region.aliases),
        "sources": [{"name": s.source, "interval_minutes": s.interval_minutes, "first_data": iso(s.first),
                     "newest_data": iso(s.last), "stale": not s.fresh(now), "default": s is default}
                    for s in series],
        "first_data": iso(min((s.first for s in series), default=None)),
        "newest_data": iso(max((s.last for s in series), default=None)),
    }


def coverage(timestamps: list[datetime], series: Series | None, region: str, start: datetime,
             end: datetime, step_minutes: int | None, now: datetime, estimated: int = 0,
             estimates_left_out: bool = False) -> dict:
    """How complete the answer is (timestamps: those answered, oldest first; `estimated` of
    them hold an estimate), and in words why it is empty when it is."""
    return coverage_of(len(timestamps), timestamps[0] if timestamps else None,
                       timestamps[-1] if timestamps else None, series, region, start, end, step_minutes, now,
                       estimated, estimates_left_out)


def coverage_of(count: int, first: datetime | None, last: datetime | None, series: Series | None, region: str,
                start: datetime, end: datetime, step_minutes: int | None, now: datetime, estimated: int = 0,
                estimates_left_out: bool = False) -> dict:
    """coverage() from the number of points answered and the first and last of them."""
    step = step_minutes or (series.interval_minutes if series else 60)
    expected = max(0, int((min(end, now) - start).total_seconds() // (step * 60)))
    if step_minutes:  # UTC buckets (hour, day): every bucket the range touches, a partial first one too
        first_bucket = _epoch_seconds(start) // (step * 60) * (step * 60)
        expected = max(0, -int(-(_epoch_seconds(min(end, now)) - first_bucket) // (step * 60)))
    note = None
    if not count:
        if series is None:
            note = (f"no source has data for {region} in this range" if start < now
                    else "the range is in the future: see /carbon-intensity/forecast/")
        else:
            note = (f"{series.source} has no data for {region} in this range; its data spans "
                    f"{iso(series.first)} to {iso(series.last)}")
    elif count < expected:
        note = (f"{expected - count} of {expected} intervals are missing in the source's data"
                + (" or estimated (left out: estimated=false)" if estimates_left_out else ""))
    if estimated:
        note = (f"{note}; " if note else "") + (f"{estimated} of {count} points hold an estimate (a fuel the source "
                                                "did not report, rejected or anomalous): see estimation_method")
    return {"intervals": count, "expected_intervals": expected, "estimated_intervals": estimated,
            "missing_intervals": max(0, expected - count), "first": iso(first), "last": iso(last), "note": note}


def _epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())
