-- Marginal carbon intensity: the emissions of the generators that answer a change in load
-- (WattTime's MOER, co2_moer), kept apart from average intensity (carbon_intensity), which
-- describes the whole mix: the two answer different questions and must never be averaged,
-- compared or chosen between as if they were one signal. Served as ?signal=marginal.
--
-- WattTime publishes lbs CO2 per MWh; stored as g CO2 per kWh (x 0.45359237). MOER counts
-- combustion emissions only, like the `direct` factor set.
-- Sizing: 5-minute data for 100 regions over 10 years is ~105 M rows at ~60 bytes with the
-- primary key (~6 GB), read one region and range at a time through the primary key.

CREATE TABLE marginal_intensity (
    region_id           smallint NOT NULL,
    source_id           smallint NOT NULL,
    ts                  timestamptz NOT NULL,     -- interval start, UTC
    interval_minutes    smallint NOT NULL,
    moer_g_per_kwh      double precision CHECK (moer_g_per_kwh >= 0),
    -- WattTime's signal index: where the current MOER stands among the last month's, 0-100.
    signal_index        double precision CHECK (signal_index BETWEEN 0 AND 100),
    -- NULL: a measured (historical) value; else the generation time of the forecast that gave
    -- it. A measured value replaces a forecast of the same interval, never the reverse.
    forecast_issued_at  timestamptz,
    PRIMARY KEY (region_id, source_id, ts)
);

INSERT INTO source (name, description, frequency, interval_minutes, stale_after)
VALUES ('WATTTIME', 'WattTime v3 marginal emissions (co2_moer): historical, forecast and signal index',
        '15 minutes', 5, '6 hours')
ON CONFLICT (name) DO NOTHING;
