-- River job queue (github.com/riverqueue/river v0.51.2), migration line "main",
-- version 3 (river job tags non null), as rivermigrate applies it, and the row rivermigrate
-- records for it. One file per river version: each runs in its own transaction,
-- as rivermigrate runs them (a later version uses an enum value an earlier one adds).

ALTER TABLE river_job ALTER COLUMN tags SET DEFAULT '{}';
UPDATE river_job SET tags = '{}' WHERE tags IS NULL;
ALTER TABLE river_job ALTER COLUMN tags SET NOT NULL;

INSERT INTO river_migration (version) VALUES (3);
