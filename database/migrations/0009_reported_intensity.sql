-- Carbon intensity that arrives as intensity, not as a fuel mix: Electricity Maps data-portal
-- exports (python -m crawler import-emap-csv). Such a series is stored as reported in
-- reported_intensity, with the provider's own flags, and materialised into carbon_intensity
-- in the same transaction, exactly as generation readings are: so the one read path
-- (carbon_intensity + series) serves it, and the forecast and scheduler use it unchanged.
--
-- Sizing: hourly data for 100 zones over 10 years is ~8.8 M rows at ~70 bytes with the
-- primary key (~0.6 GB); no partitioning needed.

-- What the provider reported, one row per region, source and interval. Re-importing the
-- same interval replaces it (last write wins), like a revision of a crawled reading.
CREATE TABLE reported_intensity (
    region_id             smallint NOT NULL,
    source_id             smallint NOT NULL,
    ts                    timestamptz NOT NULL,     -- interval start, UTC
    interval_minutes      smallint NOT NULL,
    lifecycle_g_per_kwh   double precision CHECK (lifecycle_g_per_kwh >= 0),
    direct_g_per_kwh      double precision CHECK (direct_g_per_kwh >= 0),
    renewable_share       double precision CHECK (renewable_share BETWEEN 0 AND 1),
    low_carbon_share      double precision CHECK (low_carbon_share BETWEEN 0 AND 1),
    estimated             boolean NOT NULL DEFAULT false,  -- the provider filled a gap by a model
    estimation_method     text,                     -- the provider's name for that model
    PRIMARY KEY (region_id, source_id, ts)
);

-- A reported intensity has no generation total behind it: NULL says "reported, not computed
-- from a mix" (computed rows always have one, 0 when nothing generated).
ALTER TABLE carbon_intensity ALTER COLUMN total_mw DROP NOT NULL;

-- The source the importer writes. Names are upper-case like every source's, so that
-- ?source=electricitymaps (any case) selects it. It is imported, never crawled: frequency
-- and staleness only say that an imported history is not a live feed.
INSERT INTO source (name, description, frequency, interval_minutes, stale_after)
VALUES ('ELECTRICITYMAPS', 'Electricity Maps data-portal exports (hourly, consumption-based, flow-traced), '
        'imported with python -m crawler import-emap-csv', '1 day', 60, '1 day')
ON CONFLICT (name) DO NOTHING;
