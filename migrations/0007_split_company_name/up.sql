-- Data-preserving change: the free-text company name becomes a legal name
-- plus a short name; existing names are kept as legal names.
ALTER TABLE "enterprise"."company" RENAME COLUMN "name" TO "legal_name";
ALTER TABLE "enterprise"."company" ADD COLUMN "short_name" text;
UPDATE "enterprise"."company" SET "short_name" = left("legal_name", 32);
ALTER TABLE "enterprise"."company" ALTER COLUMN "short_name" SET NOT NULL;
