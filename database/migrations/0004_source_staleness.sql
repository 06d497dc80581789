-- How long a source may go without new data before its feed counts as stale; kept with the
-- source (synced from the crawler's registry) so that the API can pick fresh sources too.
ALTER TABLE source ADD COLUMN stale_after interval NOT NULL DEFAULT '1 hour';
