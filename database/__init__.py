"""The only package that speaks SQL: connection, migrations, reads and writes."""
