-- River job queue (github.com/riverqueue/river v0.51.2), migration line "main",
-- version 1 (create river migration), as rivermigrate applies it, and the row rivermigrate
-- records for it. One file per river version: each runs in its own transaction,
-- as rivermigrate runs them (a later version uses an enum value an earlier one adds).

CREATE TABLE river_migration(
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT NOW(),
  version bigint NOT NULL,
  CONSTRAINT version CHECK (version >= 1)
);

CREATE UNIQUE INDEX ON river_migration USING btree(version);

INSERT INTO river_migration (version) VALUES (1);
