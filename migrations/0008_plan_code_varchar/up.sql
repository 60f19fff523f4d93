-- Data-preserving type change: plan codes are at most 16 characters (the
-- CHECK constraint already guarantees it), so no value is cut.
ALTER TABLE "business"."annuity_performance" DROP CONSTRAINT "annuity_performance_plan_code_fkey";
ALTER TABLE "mapping"."plan_company" ALTER COLUMN "plan_code" TYPE varchar(16);
ALTER TABLE "business"."annuity_performance" ALTER COLUMN "plan_code" TYPE varchar(16);
ALTER TABLE "business"."annuity_performance"
    ADD CONSTRAINT "annuity_performance_plan_code_fkey"
    FOREIGN KEY ("plan_code") REFERENCES "mapping"."plan_company" ("plan_code");
