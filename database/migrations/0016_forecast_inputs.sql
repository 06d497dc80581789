-- Forecast inputs (README "Forecast inputs"): weather forecasts per point and grid operators'
-- own load, wind and solar forecasts, each row with the time it was issued, so that a forecast
-- issued at T reads only inputs issued before T (database/forecast_inputs.py).
--
-- Sizing: Open-Meteo fetched hourly for ~60 points x 96 hours is ~5,800 weather rows an hour
-- before rows equal to the previous issue are skipped; one wide row per point, target hour and
-- issue (7 variables as real) is ~80 bytes plus ~40 of primary key. `python -m crawler prune`
-- keeps every issue for a few days, then one issue per 6 hours (see database.forecast_inputs).

-- The places weather is forecast for, synced from energy_data/data/weather_points.csv by the
-- write path: role says which variables a point stands for in its region's weighted means
-- (wind speeds: wind points; radiation and cloud cover: solar points; temperature and dew
-- point: load points; precipitation: all points).
CREATE TABLE weather_point (
    id          smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    region_id   smallint NOT NULL REFERENCES region (id),
    latitude    double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    role        text NOT NULL CHECK (role IN ('wind', 'solar', 'load')),
    weight      double precision NOT NULL CHECK (weight > 0),
    reason      text NOT NULL
);

CREATE TABLE weather_forecast (
    point_id            smallint NOT NULL,
    source_id           smallint NOT NULL,
    ts                  timestamptz NOT NULL,     -- target hour start, UTC
    issued_at           timestamptz NOT NULL,     -- when the forecast was known (UTC)
    wind_speed_10m      real,                     -- m/s
    wind_speed_100m     real,                     -- m/s
    temperature_2m      real,                     -- degrees C
    dew_point_2m        real,                     -- degrees C
    shortwave_radiation real,                     -- W/m2, mean over the hour
    cloud_cover         real,                     -- %
    precipitation       real,                     -- mm over the hour
    -- A read walks one point's target hours, newest issue first, whatever the source.
    PRIMARY KEY (point_id, ts, issued_at, source_id)
);
-- Pruning walks the issues by age; rows arrive roughly in issue order, so a BRIN index is enough.
CREATE INDEX weather_forecast_issued ON weather_forecast USING brin (issued_at);

CREATE TABLE operator_forecast (
    region_id   smallint NOT NULL,
    source_id   smallint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('load', 'wind', 'solar')),
    ts          timestamptz NOT NULL,             -- target interval start, UTC
    issued_at   timestamptz NOT NULL,
    mw          double precision NOT NULL,
    -- A read walks one region's, kind's and source's targets, newest issue first.
    PRIMARY KEY (region_id, kind, source_id, ts, issued_at)
);
CREATE INDEX operator_forecast_issued ON operator_forecast USING brin (issued_at);

-- What is stored per source, region and kind ('weather' or an operator forecast kind), kept
-- by the writes and the pruning in the same transactions: `status` and the readers look here
-- instead of counting millions of rows.
CREATE TABLE input_series (
    source_id           smallint NOT NULL,
    region_id           smallint NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('weather', 'load', 'wind', 'solar')),
    first_ts            timestamptz NOT NULL,
    last_ts             timestamptz NOT NULL,
    newest_issued_at    timestamptz NOT NULL,
    row_count           bigint NOT NULL CHECK (row_count >= 0),
    PRIMARY KEY (source_id, region_id, kind)
);

-- How far back pruning has thinned each table: the next prune starts there.
CREATE TABLE input_thinning (
    table_name      text PRIMARY KEY,
    thinned_before  timestamptz NOT NULL
);
