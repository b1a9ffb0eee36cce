-- Modify "provisioning_states" table
ALTER TABLE "provisioning_states" ADD COLUMN "generation" bigint NOT NULL DEFAULT 0;
-- Provisioning jobs are river jobs now: carry the old queue's outstanding
-- jobs over (each converges its integration to the tenant's current state;
-- generation 0 is every state's generation after the column was added),
-- then drop the old queue.
INSERT INTO "river_job" ("args", "kind", "max_attempts")
SELECT jsonb_build_object('tenant_id', "tenant_id", 'integration', "integration", 'generation', 0, 'reason', "reason"),
       'provision_integration', 20
FROM "provisioning_jobs";
DROP TABLE "provisioning_jobs";
