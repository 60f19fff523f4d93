ALTER TABLE "enterprise"."company" DROP COLUMN "short_name";
ALTER TABLE "enterprise"."company" RENAME COLUMN "legal_name" TO "name";
