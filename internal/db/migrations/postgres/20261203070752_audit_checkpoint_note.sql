-- Modify "audit_checkpoints" table
ALTER TABLE "audit_checkpoints" ADD COLUMN "note" text NULL;
