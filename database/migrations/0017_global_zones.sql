-- Grid zones outside the US as regions: every bidding zone the ENTSO-E Transparency Platform
-- publishes generation for, the Australian market regions (NEM and WEM), Québec and Great
-- Britain. Ids are Electricity Maps' zone keys (docs/design.md), names in English, time zones IANA
-- names (for presentation only; every stored time is UTC). Aliases: kind `eic` for the ENTSO-E
-- area codes (the EIC of the bidding zone, or of the control area where Electricity Maps' zone
-- is one: DE, LU, IE, GB-NIR), `nem` for AEMO's region ids, `wem` for Western Australia's market.
--
-- EIC codes as listed by ENTSO-E's Transparency Platform API guide, "Areas" (the same codes in
-- entsoe-py's Area enum and electricitymaps-contrib's ENTSOE_DOMAIN_MAPPINGS, both read
-- 2026-08); crawler/parsers/entsoe.py ZONES holds the same codes (a test checks they agree).
-- Zones not created: BY and RU (ENTSO-E publishes nothing for them since 2022), AM, AZ, IS
-- (outside the platform's data), the aggregates IT, NO, SE, DK (not bidding zones).
INSERT INTO region (code, name, time_zone) VALUES
    ('AL', 'Albania', 'Europe/Tirane'),
    ('AT', 'Austria', 'Europe/Vienna'),
    ('BA', 'Bosnia and Herzegovina', 'Europe/Sarajevo'),
    ('BE', 'Belgium', 'Europe/Brussels'),
    ('BG', 'Bulgaria', 'Europe/Sofia'),
    ('CH', 'Switzerland', 'Europe/Zurich'),
    ('CY', 'Cyprus', 'Asia/Nicosia'),
    ('CZ', 'Czechia', 'Europe/Prague'),
    ('DE', 'Germany', 'Europe/Berlin'),
    ('DK-DK1', 'West Denmark', 'Europe/Copenhagen'),
    ('DK-DK2', 'East Denmark', 'Europe/Copenhagen'),
    ('EE', 'Estonia', 'Europe/Tallinn'),
    ('ES', 'Spain', 'Europe/Madrid'),
    ('FI', 'Finland', 'Europe/Helsinki'),
    ('FR', 'France', 'Europe/Paris'),
    ('GB', 'Great Britain', 'Europe/London'),
    ('GB-NIR', 'Northern Ireland', 'Europe/London'),
    ('GE', 'Georgia', 'Asia/Tbilisi'),
    ('GR', 'Greece', 'Europe/Athens'),
    ('HR', 'Croatia', 'Europe/Zagreb'),
    ('HU', 'Hungary', 'Europe/Budapest'),
    ('IE', 'Ireland', 'Europe/Dublin'),
    ('IT-NO', 'North Italy', 'Europe/Rome'),
    ('IT-CNO', 'Central North Italy', 'Europe/Rome'),
    ('IT-CSO', 'Central South Italy', 'Europe/Rome'),
    ('IT-SO', 'South Italy', 'Europe/Rome'),
    ('IT-CA', 'Calabria', 'Europe/Rome'),
    ('IT-SIC', 'Sicily', 'Europe/Rome'),
    ('IT-SAR', 'Sardinia', 'Europe/Rome'),
    ('LT', 'Lithuania', 'Europe/Vilnius'),
    ('LU', 'Luxembourg', 'Europe/Luxembourg'),
    ('LV', 'Latvia', 'Europe/Riga'),
    ('MD', 'Moldova', 'Europe/Chisinau'),
    ('ME', 'Montenegro', 'Europe/Podgorica'),
    ('MK', 'North Macedonia', 'Europe/Skopje'),
    ('MT', 'Malta', 'Europe/Malta'),
    ('NL', 'Netherlands', 'Europe/Amsterdam'),
    ('NO-NO1', 'Eastern Norway', 'Europe/Oslo'),
    ('NO-NO2', 'Southern Norway', 'Europe/Oslo'),
    ('NO-NO3', 'Central Norway', 'Europe/Oslo'),
    ('NO-NO4', 'Northern Norway', 'Europe/Oslo'),
    ('NO-NO5', 'Western Norway', 'Europe/Oslo'),
    ('PL', 'Poland', 'Europe/Warsaw'),
    ('PT', 'Portugal', 'Europe/Lisbon'),
    ('RO', 'Romania', 'Europe/Bucharest'),
    ('RS', 'Serbia', 'Europe/Belgrade'),
    ('SE-SE1', 'North Sweden', 'Europe/Stockholm'),
    ('SE-SE2', 'North Central Sweden', 'Europe/Stockholm'),
    ('SE-SE3', 'South Central Sweden', 'Europe/Stockholm'),
    ('SE-SE4', 'South Sweden', 'Europe/Stockholm'),
    ('SI', 'Slovenia', 'Europe/Ljubljana'),
    ('SK', 'Slovakia', 'Europe/Bratislava'),
    ('TR', 'Turkey', 'Europe/Istanbul'),
    ('UA', 'Ukraine', 'Europe/Kiev'),
    ('XK', 'Kosovo', 'Europe/Belgrade'),
    -- Australia: the five NEM regions (AEMO) and the WEM (Western Australia's South West
    -- Interconnected System).
    ('AU-NSW', 'New South Wales', 'Australia/Sydney'),
    ('AU-QLD', 'Queensland', 'Australia/Brisbane'),
    ('AU-SA', 'South Australia', 'Australia/Adelaide'),
    ('AU-TAS', 'Tasmania', 'Australia/Hobart'),
    ('AU-VIC', 'Victoria', 'Australia/Melbourne'),
    ('AU-WA', 'Western Australia', 'Australia/Perth'),
    -- Hydro-Québec's grid; America/Toronto is the IANA zone America/Montreal links to.
    ('CA-QC', 'Québec', 'America/Toronto')
-- A zone the Electricity Maps source met before this migration is a region already (named by
-- its key, time zone UTC: database/reported.ensure_zone_regions): it gets its name and zone.
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, time_zone = EXCLUDED.time_zone;

INSERT INTO region_alias (alias, region_id, kind)
SELECT v.alias, r.id, v.kind
FROM (VALUES
    ('10YAL-KESH-----5', 'AL', 'eic'), ('10YAT-APG------L', 'AT', 'eic'), ('10YBA-JPCC-----D', 'BA', 'eic'),
    ('10YBE----------2', 'BE', 'eic'), ('10YCA-BULGARIA-R', 'BG', 'eic'), ('10YCH-SWISSGRIDZ', 'CH', 'eic'),
    ('10YCY-1001A0003J', 'CY', 'eic'), ('10YCZ-CEPS-----N', 'CZ', 'eic'),
    -- Germany's area, and the DE-LU bidding zone, of which Germany is all but Luxembourg.
    ('10Y1001A1001A83F', 'DE', 'eic'), ('10Y1001A1001A82H', 'DE', 'eic'),
    ('10YDK-1--------W', 'DK-DK1', 'eic'), ('10YDK-2--------M', 'DK-DK2', 'eic'),
    ('10Y1001A1001A39I', 'EE', 'eic'), ('10YES-REE------0', 'ES', 'eic'), ('10YFI-1--------U', 'FI', 'eic'),
    ('10YFR-RTE------C', 'FR', 'eic'), ('10YGB----------A', 'GB', 'eic'), ('10Y1001A1001A016', 'GB-NIR', 'eic'),
    ('10Y1001A1001B012', 'GE', 'eic'), ('10YGR-HTSO-----Y', 'GR', 'eic'), ('10YHR-HEP------M', 'HR', 'eic'),
    ('10YHU-MAVIR----U', 'HU', 'eic'), ('10YIE-1001A00010', 'IE', 'eic'),
    ('10Y1001A1001A73I', 'IT-NO', 'eic'), ('10Y1001A1001A70O', 'IT-CNO', 'eic'),
    ('10Y1001A1001A71M', 'IT-CSO', 'eic'), ('10Y1001A1001A788', 'IT-SO', 'eic'),
    ('10Y1001C--00096J', 'IT-CA', 'eic'), ('10Y1001A1001A75E', 'IT-SIC', 'eic'),
    ('10Y1001A1001A74G', 'IT-SAR', 'eic'), ('10YLT-1001A0008Q', 'LT', 'eic'), ('10YLU-CEGEDEL-NQ', 'LU', 'eic'),
    ('10YLV-1001A00074', 'LV', 'eic'), ('10Y1001A1001A990', 'MD', 'eic'), ('10YCS-CG-TSO---S', 'ME', 'eic'),
    ('10YMK-MEPSO----8', 'MK', 'eic'), ('10Y1001A1001A93C', 'MT', 'eic'), ('10YNL----------L', 'NL', 'eic'),
    ('10YNO-1--------2', 'NO-NO1', 'eic'), ('10YNO-2--------T', 'NO-NO2', 'eic'),
    ('10YNO-3--------J', 'NO-NO3', 'eic'), ('10YNO-4--------9', 'NO-NO4', 'eic'),
    ('10Y1001A1001A48H', 'NO-NO5', 'eic'), ('10YPL-AREA-----S', 'PL', 'eic'), ('10YPT-REN------W', 'PT', 'eic'),
    ('10YRO-TEL------P', 'RO', 'eic'), ('10YCS-SERBIATSOV', 'RS', 'eic'),
    ('10Y1001A1001A44P', 'SE-SE1', 'eic'), ('10Y1001A1001A45N', 'SE-SE2', 'eic'),
    ('10Y1001A1001A46L', 'SE-SE3', 'eic'), ('10Y1001A1001A47J', 'SE-SE4', 'eic'),
    ('10YSI-ELES-----O', 'SI', 'eic'), ('10YSK-SEPS-----K', 'SK', 'eic'), ('10YTR-TEIAS----W', 'TR', 'eic'),
    -- Ukraine's IPS control area (synchronised with continental Europe since 2022) and the
    -- Ukraine bidding zone.
    ('10Y1001C--000182', 'UA', 'eic'), ('10Y1001C--00003F', 'UA', 'eic'),
    ('10Y1001C--00100H', 'XK', 'eic'),
    ('NSW1', 'AU-NSW', 'nem'), ('QLD1', 'AU-QLD', 'nem'), ('SA1', 'AU-SA', 'nem'), ('TAS1', 'AU-TAS', 'nem'),
    ('VIC1', 'AU-VIC', 'nem'), ('WEM', 'AU-WA', 'wem'),
    ('QUEBEC', 'CA-QC', 'name'), ('HYDRO-QUEBEC', 'CA-QC', 'name')
) AS v (alias, code, kind)
JOIN region r ON r.code = v.code
ON CONFLICT (alias) DO NOTHING;

-- Total load of a region as its operator reports it (ENTSO-E "actual total load", A65; Hydro-
-- Québec's demand), interval start UTC, MW. A table of its own rather than net_import: load is
-- consumption (generation plus net imports minus storage charging), not a flow, and it is
-- what consumption-based intensity and load forecasts need beside the mix.
-- Sizing: hourly for 60 zones over 10 years is ~5 M rows (~0.3 GB).
CREATE TABLE load_reading (
    region_id        smallint NOT NULL,
    source_id        smallint NOT NULL,
    ts               timestamptz NOT NULL,
    interval_minutes smallint NOT NULL,
    mw               double precision NOT NULL,
    PRIMARY KEY (region_id, source_id, ts)
);

-- Physical flow across a border in one direction (ENTSO-E "cross-border physical flows", A11),
-- MW, never negative: each direction is a row of its own, as ENTSO-E reports them, so that the
-- flow-tracing of a consumption-based intensity can read both. Net imports of a region are the
-- sum of its inflows minus its outflows.
-- Sizing: hourly for ~110 borders, both ways, over 10 years is ~19 M rows (~1.3 GB).
CREATE TABLE cross_border_flow (
    from_region_id   smallint NOT NULL,
    to_region_id     smallint NOT NULL,
    source_id        smallint NOT NULL,
    ts               timestamptz NOT NULL,
    interval_minutes smallint NOT NULL,
    mw               double precision NOT NULL CHECK (mw >= 0),
    PRIMARY KEY (from_region_id, to_region_id, source_id, ts),
    CHECK (from_region_id <> to_region_id)
);
CREATE INDEX cross_border_flow_to ON cross_border_flow (to_region_id, source_id, ts);
