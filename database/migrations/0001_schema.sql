-- Core schema: regions, sources, fuels, readings, intensity, crawl bookkeeping, raw payloads.
--
-- Sizing: 10 years of 5-minute data for 100 regions is about 105 M intervals and, at about
-- 8 fuels each, 840 M readings. A reading row is kept to 48 bytes (smallint keys, a float8
-- and a timestamptz) and generation_reading is range-partitioned by year on its interval
-- start, so each partition holds under 90 M rows, a week's query touches one partition, and
-- old years can be detached or dumped whole. See README "Design".

CREATE TABLE region (
    id          smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,          -- canonical id: the EIA balancing-authority code
    name        text NOT NULL,
    time_zone   text NOT NULL,                 -- IANA name, for presentation only
    CHECK (code = upper(code))
);

CREATE TABLE region_alias (
    alias       text PRIMARY KEY,              -- stored upper-case; lookups upper-case too
    region_id   smallint NOT NULL REFERENCES region (id) ON DELETE CASCADE,
    kind        text NOT NULL,                 -- legacy, electricitymaps, watttime, eia-name
    CHECK (alias = upper(alias))
);

CREATE TABLE source (
    id               smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE,     -- short stable name: CAISO, NYISO, EIA, ...
    description      text NOT NULL DEFAULT '',
    frequency        interval NOT NULL,
    interval_minutes smallint NOT NULL         -- native length of the source's intervals
);

CREATE TABLE fuel (
    id          smallint PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    renewable   boolean NOT NULL,
    low_carbon  boolean NOT NULL,
    storage     boolean NOT NULL               -- discharge is not generation: outside intensity
);

INSERT INTO fuel (id, name, renewable, low_carbon, storage) VALUES
    (1, 'coal', false, false, false),
    (2, 'gas', false, false, false),
    (3, 'oil', false, false, false),
    (4, 'nuclear', false, true, false),
    (5, 'hydro', true, true, false),
    (6, 'wind', true, true, false),
    (7, 'solar', true, true, false),
    (8, 'geothermal', true, true, false),
    (9, 'biomass', true, true, false),
    (10, 'battery', false, false, true),
    (11, 'hydro_storage', false, false, true),
    (12, 'other', false, false, false),
    (13, 'unknown', false, false, false);

-- One row per region, source, interval start and fuel. Revisions overwrite mw in place.
CREATE TABLE generation_reading (
    ts               timestamptz NOT NULL,     -- interval start, UTC
    mw               double precision NOT NULL,
    region_id        smallint NOT NULL,
    source_id        smallint NOT NULL,
    fuel_id          smallint NOT NULL,
    interval_minutes smallint NOT NULL,
    PRIMARY KEY (region_id, source_id, ts, fuel_id)
) PARTITION BY RANGE (ts);
-- The high-volume tables (readings, net imports, intensity) carry no foreign keys: a per-row
-- trigger would double the cost of a bulk load. The writer maps every code through the
-- region, source and fuel tables before writing, and those rows are never deleted.
-- Partitions are created on demand by database.readings.ensure_partitions().

-- Net flow into a region (imports minus exports), MW; not generation, not in intensity.
CREATE TABLE net_import (
    region_id        smallint NOT NULL,
    source_id        smallint NOT NULL,
    ts               timestamptz NOT NULL,
    interval_minutes smallint NOT NULL,
    mw               double precision NOT NULL,
    PRIMARY KEY (region_id, source_id, ts)
);

CREATE TABLE emission_factor (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    factor_set  text NOT NULL CHECK (factor_set IN ('lifecycle', 'direct')),
    fuel_id     smallint NOT NULL REFERENCES fuel (id),
    region_id   smallint REFERENCES region (id),   -- NULL: the default for every region
    valid_from  timestamptz NOT NULL DEFAULT '1900-01-01 00:00+00',
    g_per_kwh   double precision NOT NULL CHECK (g_per_kwh >= 0),
    citation    text NOT NULL,
    UNIQUE NULLS NOT DISTINCT (factor_set, fuel_id, region_id, valid_from)
);

-- Materialised per region, source and interval; recomputed in the transaction that writes
-- the readings. Shares are of total_mw: non-negative generation, storage excluded.
CREATE TABLE carbon_intensity (
    region_id             smallint NOT NULL,
    source_id             smallint NOT NULL,
    ts                    timestamptz NOT NULL,
    interval_minutes      smallint NOT NULL,
    lifecycle_g_per_kwh   double precision,     -- NULL when total_mw is 0
    direct_g_per_kwh      double precision,
    renewable_share       double precision,
    low_carbon_share      double precision,
    total_mw              double precision NOT NULL,
    PRIMARY KEY (region_id, source_id, ts)
);

-- What is stored per region and source: kept by the writer, read by status and the API.
CREATE TABLE series (
    region_id   smallint NOT NULL REFERENCES region (id),
    source_id   smallint NOT NULL REFERENCES source (id),
    first_ts    timestamptz NOT NULL,
    last_ts     timestamptz NOT NULL,
    row_count   bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region_id, source_id)
);

CREATE TABLE crawl_run (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id      smallint NOT NULL REFERENCES source (id),
    kind           text NOT NULL CHECK (kind IN ('run', 'backfill', 'replay')),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    rows_inserted  integer NOT NULL DEFAULT 0,
    rows_updated   integer NOT NULL DEFAULT 0,
    rows_unchanged integer NOT NULL DEFAULT 0,
    anomalies      jsonb NOT NULL DEFAULT '{}',
    error          text,
    detail         text                          -- e.g. the backfill chunk
);
CREATE INDEX crawl_run_source_started ON crawl_run (source_id, started_at DESC);

-- Every body fetched, gzip-compressed, one row per distinct body and source.
CREATE TABLE raw_payload (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id        smallint NOT NULL REFERENCES source (id),
    url              text NOT NULL,              -- secrets replaced by REDACTED
    first_fetched_at timestamptz NOT NULL,
    last_fetched_at  timestamptz NOT NULL,
    fetch_count      integer NOT NULL DEFAULT 1,
    http_status      smallint,
    content_type     text,
    body_gzip        bytea NOT NULL,
    body_bytes       integer NOT NULL,
    sha256           bytea NOT NULL,
    UNIQUE (source_id, sha256)
);
CREATE INDEX raw_payload_source_fetched ON raw_payload (source_id, last_fetched_at DESC);
