-- Least-privilege roles (README "Deploy"):
--   energy_reader  the API: SELECT only; its sessions default to read-only transactions.
--   energy_writer  the crawler: reads and writes the data tables, never the schema.
--   energy_admin   migrations: owns what it creates (on a deployed host it owns the database).
-- scripts/setup/install-postgresql.sh creates the three with passwords before migrating; a
-- migration run by a superuser (the embedded server, the tests) creates any that are missing,
-- with LOGIN but no password, so that nothing but a local trusted socket lets them in.
DO $$
DECLARE
    name text;
    may_create boolean := (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user);
BEGIN
    FOREACH name IN ARRAY ARRAY['energy_reader', 'energy_writer', 'energy_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            IF NOT may_create THEN
                RAISE EXCEPTION 'role % is missing and % may not create roles: run '
                    'scripts/setup/install-postgresql.sh or create it as a superuser', name, current_user;
            END IF;
            EXECUTE format('CREATE ROLE %I LOGIN', name);
        END IF;
    END LOOP;
    IF may_create THEN
        -- Even a query that means to write cannot: the API's sessions start read-only.
        ALTER ROLE energy_reader SET default_transaction_read_only = on;
    END IF;
END $$;

GRANT USAGE ON SCHEMA public TO energy_reader, energy_writer, energy_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO energy_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO energy_writer;
REVOKE INSERT, UPDATE, DELETE ON schema_migration FROM energy_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO energy_writer;
GRANT ALL ON ALL TABLES IN SCHEMA public TO energy_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO energy_admin;

-- Tables and partitions created later by the role that runs migrations stay covered.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO energy_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO energy_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO energy_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO energy_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO energy_admin;

-- The crawler creates a year's partition of generation_reading when a reading first needs it;
-- only the table's owner may, so it asks this function, which runs as the owner and can do
-- nothing else.
CREATE FUNCTION ensure_reading_partition(year integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF year NOT BETWEEN 1900 AND 2999 THEN
        RAISE EXCEPTION 'no partition for year %: outside 1900..2999', year;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF generation_reading '
                   'FOR VALUES FROM (%L) TO (%L)', 'generation_reading_' || year,
                   year || '-01-01 00:00+00', (year + 1) || '-01-01 00:00+00');
END $$;
REVOKE ALL ON FUNCTION ensure_reading_partition(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_reading_partition(integer) TO energy_writer, energy_admin;
