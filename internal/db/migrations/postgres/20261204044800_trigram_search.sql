-- The text filters people type scan no table on PostgreSQL: tenants'
-- nameContains (LIKE '%…%') and the audit trail's q (ILIKE '%…%' over the
-- action, resource name, actor e-mail and tenant slug) use trigram GIN
-- indexes. pg_trgm is a trusted extension (PostgreSQL 13+): the owner of
-- the database may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS "tenant_name_trgm" ON "tenants" USING gin ("name" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "auditevent_action_trgm" ON "audit_events" USING gin ("action" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "auditevent_resource_name_trgm" ON "audit_events" USING gin ("resource_name" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "auditevent_actor_email_trgm" ON "audit_events" USING gin ("actor_email" gin_trgm_ops);
CREATE INDEX IF NOT EXISTS "auditevent_tenant_slug_trgm" ON "audit_events" USING gin ("tenant_slug" gin_trgm_ops);
