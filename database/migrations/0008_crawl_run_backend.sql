-- Which database session runs each crawl: a 'running' row whose session has ended belongs to a
-- process that was killed (any kind: run, backfill or replay) and is marked 'interrupted'.
ALTER TABLE crawl_run ADD COLUMN backend_pid integer;
