-- Default emission factors, gCO2eq/kWh, valid from the beginning of the data.
-- Storage (battery, hydro_storage) has none: its discharge is left out of the intensity.

-- Lifecycle: medians of IPCC (2014) AR5 WG III, Annex III, Table A.III.2, as used by
-- Electricity Maps (electricitymaps-contrib, config/defaults.yaml). Oil (650) and
-- other/unknown (700) are Electricity Maps' values where IPCC gives no median.
INSERT INTO emission_factor (factor_set, fuel_id, g_per_kwh, citation)
SELECT 'lifecycle', f.id, v.g, v.citation
FROM (VALUES
    ('coal',       820, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, coal PC, lifecycle median'),
    ('gas',        490, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, gas combined cycle, lifecycle median'),
    ('oil',        650, 'UK POST 2014 (Carbon footprint of electricity generation), as used by Electricity Maps'),
    ('nuclear',     12, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, nuclear, lifecycle median'),
    ('hydro',       24, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, hydropower, lifecycle median'),
    ('wind',        11, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, wind onshore, lifecycle median'),
    ('solar',       45, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, solar PV (utility 48, rooftop 41), as averaged by Electricity Maps'),
    ('geothermal',  38, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, geothermal, lifecycle median'),
    ('biomass',    230, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, biomass dedicated, lifecycle median'),
    ('other',      700, 'Electricity Maps default for unknown/other generation (mostly fossil)'),
    ('unknown',    700, 'Electricity Maps default for unknown/other generation (mostly fossil)')
) AS v (fuel, g, citation)
JOIN fuel f ON f.name = v.fuel;

-- Direct (combustion only): IPCC 2014 AR5 WG III Annex III Table A.III.2 direct emissions for
-- coal and gas; oil and other/unknown as Electricity Maps' direct defaults. Everything else 0.
INSERT INTO emission_factor (factor_set, fuel_id, g_per_kwh, citation)
SELECT 'direct', f.id, v.g, v.citation
FROM (VALUES
    ('coal',       760, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, coal PC, direct emissions'),
    ('gas',        370, 'IPCC 2014 AR5 WG3 Annex III Table A.III.2, gas combined cycle, direct emissions'),
    ('oil',        406, 'Electricity Maps direct default for oil'),
    ('other',      575, 'Electricity Maps direct default for unknown/other generation'),
    ('unknown',    575, 'Electricity Maps direct default for unknown/other generation'),
    ('nuclear',      0, 'No combustion'),
    ('hydro',        0, 'No combustion'),
    ('wind',         0, 'No combustion'),
    ('solar',        0, 'No combustion'),
    ('geothermal',   0, 'No combustion (non-condensable gas emissions neglected)'),
    ('biomass',      0, 'Biogenic CO2 counted as zero in direct accounting, as Electricity Maps does')
) AS v (fuel, g, citation)
JOIN fuel f ON f.name = v.fuel;
