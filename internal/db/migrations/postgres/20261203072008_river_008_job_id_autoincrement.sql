-- River job queue (github.com/riverqueue/river v0.51.2), migration line "main",
-- version 8 (job id autoincrement), as rivermigrate applies it, and the row rivermigrate
-- records for it. One file per river version: each runs in its own transaction,
-- as rivermigrate runs them (a later version uses an enum value an earlier one adds).

-- No-op. Postgres sequences already prevent automatically generated job IDs
-- from being reused.
SELECT 1;

INSERT INTO river_migration (line, version) VALUES ('main', 8);
