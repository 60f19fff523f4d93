DROP TABLE "enterprise"."company_alias";
DROP TABLE "enterprise"."company";
