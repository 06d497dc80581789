-- Which database session runs each crawl: a 'running' row whose session has ended belongs to a
-- process that was killed (any kind: run, backfill or replay) and is marked 'interrupted'.
ALTER TABLE crawl_run ADD COLUMN backend_pid integer;

-- The largest total generation (MW) stored per region and source, kept by the write path: a
-- reading far above it is a unit or parsing error, rejected by the crawler as an anomaly.
ALTER TABLE series ADD COLUMN peak_total_mw double precision;
