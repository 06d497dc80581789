-- Issued carbon-intensity forecasts (api/models/forecast.py) and the model's measured error.
--
-- A forecast is one row per region, factor set, issue time, source and model version; its
-- hourly values are rows of forecast_value. Sizing: one forecast an hour for 100 regions and
-- both factor sets is 4,800 forecasts and 345,600 values a day, ~126 M values a year at about
-- 70 bytes with the primary key (~9 GB), so old issues are meant to be deleted by issued_at
-- (database.forecasts.delete_issued_before; the values go with them).

CREATE TABLE forecast (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id        smallint NOT NULL REFERENCES region (id),
    source_id        smallint NOT NULL REFERENCES source (id),   -- the series it was fitted on
    factor_set       text NOT NULL CHECK (factor_set IN ('lifecycle', 'direct')),
    issued_at        timestamptz NOT NULL,       -- only data before this moment was used
    history_end      timestamptz NOT NULL,       -- start of the newest hour of data used
    model_name       text NOT NULL,              -- a baseline's name when the model fell back
    model_version    text NOT NULL,
    fallback_reason  text,                       -- why a baseline was issued; NULL for the model
    interval_level   double precision CHECK (interval_level > 0 AND interval_level < 1),  -- of lower/upper
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (history_end < issued_at),
    -- Serves "the forecast for region R and factor set F issued at or before T" (a backward
    -- range scan from (R, F, T)), and makes re-issuing the same forecast replace it.
    UNIQUE (region_id, factor_set, issued_at, source_id, model_name, model_version)
);

-- Written 72 rows at a time, never bulk-loaded, so the foreign key costs nothing that
-- matters and deleting a forecast takes its values along.
CREATE TABLE forecast_value (
    forecast_id      bigint NOT NULL REFERENCES forecast (id) ON DELETE CASCADE,
    ts               timestamptz NOT NULL,       -- target hour start, UTC
    g_per_kwh        double precision NOT NULL CHECK (g_per_kwh >= 0),
    lower_g_per_kwh  double precision,           -- NULL when the forecast has no interval
    upper_g_per_kwh  double precision,
    PRIMARY KEY (forecast_id, ts),
    CHECK (lower_g_per_kwh <= g_per_kwh AND g_per_kwh <= upper_g_per_kwh)
);

-- The newest measurement of a model's error per region, source, factor set and window
-- (the first N hours of each forecast), next to the best baseline's on the same forecasts.
CREATE TABLE forecast_accuracy (
    region_id          smallint NOT NULL REFERENCES region (id),
    source_id          smallint NOT NULL REFERENCES source (id),
    factor_set         text NOT NULL CHECK (factor_set IN ('lifecycle', 'direct')),
    model_name         text NOT NULL,
    model_version      text NOT NULL,
    window_hours       smallint NOT NULL CHECK (window_hours BETWEEN 1 AND 72),
    period_start       timestamptz NOT NULL,     -- first and last issue time evaluated
    period_end         timestamptz NOT NULL,
    forecasts          integer NOT NULL CHECK (forecasts > 0),
    mape               double precision NOT NULL,  -- percent
    mae                double precision NOT NULL,  -- g/kWh
    baseline_name      text NOT NULL,
    baseline_mape      double precision NOT NULL,
    baseline_mae       double precision NOT NULL,
    interval_coverage  double precision,         -- share of actual hours inside lower..upper
    measured_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (period_start <= period_end),
    PRIMARY KEY (region_id, source_id, factor_set, model_name, model_version, window_hours)
);
