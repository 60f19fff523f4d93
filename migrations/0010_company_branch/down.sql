DROP TABLE "enterprise"."company_branch";
