-- Fitted forecast models (api/models/mix_forecast.py): `python -m api.forecasts fit` (daily)
-- fits each region's model on its stored history and forecast inputs and stores it here,
-- versioned, with what it was trained on and its error on held-out days; requests only read
-- the newest model of a series and predict. Sizing: one row per region and fit, a few MB of
-- LightGBM text each; `python -m crawler prune` keeps the newest few per series.
CREATE TABLE forecast_model (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id       smallint NOT NULL REFERENCES region (id),
    source_id       smallint NOT NULL REFERENCES source (id),   -- the series it was fitted on
    model_name      text NOT NULL,
    model_version   text NOT NULL,
    fitted_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    training_start  timestamptz NOT NULL,                        -- the hours of history used
    training_end    timestamptz NOT NULL,
    inputs          jsonb NOT NULL,       -- fuels, weather variables, operator forecasts used
    validation      jsonb NOT NULL,       -- error on the held-out days, their window
    fit_seconds     double precision NOT NULL,
    body            bytea NOT NULL,       -- MixModel.to_bytes(): JSON header and LightGBM text
    CHECK (training_start < training_end)
);
-- Serves "the newest fit of this series by this model".
CREATE INDEX forecast_model_newest ON forecast_model (region_id, source_id, model_name, fitted_at DESC);

-- Forecasts now reach 96 hours ahead: their measured error may too.
ALTER TABLE forecast_accuracy DROP CONSTRAINT forecast_accuracy_window_hours_check;
ALTER TABLE forecast_accuracy ADD CONSTRAINT forecast_accuracy_window_hours_check
    CHECK (window_hours BETWEEN 1 AND 96);
