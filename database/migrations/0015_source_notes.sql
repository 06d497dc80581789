-- What a source learned about its account between runs, that the next run must not ask
-- again and `python -m crawler status` must say: an Electricity Maps token refused
-- `past-range` (a free plan), a token that answers synthetic sandbox data, the requests a run
-- made. Written and read by crawler/memory.py through database/source_notes.py.
--
-- `account` is a fingerprint of the credential (a few hex digits of its SHA-256, never the
-- credential): a note about one token does not hold for the next one.

CREATE TABLE source_note (
    source_id  smallint NOT NULL REFERENCES source (id) ON DELETE CASCADE,
    topic      text NOT NULL CHECK (topic ~ '^[a-z][a-z0-9-]{0,39}$'),
    account    text NOT NULL,
    note       text NOT NULL,
    noted_at   timestamptz NOT NULL,
    PRIMARY KEY (source_id, topic)
);

-- Migration 0013 described the index as WattTime's v2 one (against the last month); v3
-- computes it from the forecast's next 24 hours (WattTime's v2-to-v3 transition notes).
COMMENT ON COLUMN marginal_intensity.signal_index IS
    'WattTime v3 signal index, 0-100: where the current MOER stands within the forecast of the next 24 hours';
