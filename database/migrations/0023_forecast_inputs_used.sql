-- Issued forecasts say what they were made from (api/services/forecasting.py): the fitted
-- model (forecast_model.id; NULL for the history-only model) and the inputs read for it,
-- weather {"issued_at", "oldest_issued_at", "points"} and operator forecasts
-- [{"kind", "source", "issued_at"}] (NULL when none was used). No foreign key: pruning old
-- fits must not scan or touch the issued forecasts, which keep the id as a record.
ALTER TABLE forecast ADD COLUMN model_id bigint;
ALTER TABLE forecast ADD COLUMN inputs jsonb;
