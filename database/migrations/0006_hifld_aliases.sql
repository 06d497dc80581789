-- Names used by the HIFLD "Control Areas" boundaries (property NAME) where they differ from
-- EIA's names beyond punctuation and corporate suffixes (which the lookup ignores).
INSERT INTO region_alias (alias, region_id, kind)
SELECT v.alias, r.id, 'hifld'
FROM (VALUES
    ('MIDCONTINENT INDEPENDENT TRANSMISSION SYSTEM OPERATOR, INC..', 'MISO'),
    ('MIDCONTINENT INDEPENDENT TRANSMISSION SYSTEM OPERATOR, INC.', 'MISO'),
    ('PACIFICORP - EAST', 'PACE'),
    ('PACIFICORP - WEST', 'PACW'),
    ('SOUTH CAROLINA ELECTRIC & GAS COMPANY', 'SCEG'),
    ('SOUTH CAROLINA PUBLIC SERVICE AUTHORITY', 'SC'),
    ('LOUISVILLE GAS & ELECTRIC AND KENTUCKY UTILITIES', 'LGEE'),
    ('SALT RIVER PROJECT', 'SRP'),
    ('WESTERN AREA POWER ADMINISTRATION - DESERT SOUTHWEST REGION', 'WALC'),
    ('WESTERN AREA POWER ADMINISTRATION - ROCKY MOUNTAIN REGION', 'WACM'),
    ('WESTERN AREA POWER ADMINISTRATION - UGP WEST', 'WAUW')
) AS v (alias, code)
JOIN region r ON r.code = v.code
ON CONFLICT (alias) DO NOTHING;
