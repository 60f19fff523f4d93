ALTER TABLE "business"."annuity_performance" DROP CONSTRAINT "annuity_performance_plan_code_fkey";
ALTER TABLE "business"."annuity_performance" ALTER COLUMN "plan_code" TYPE text;
ALTER TABLE "mapping"."plan_company" ALTER COLUMN "plan_code" TYPE text;
ALTER TABLE "business"."annuity_performance"
    ADD CONSTRAINT "annuity_performance_plan_code_fkey"
    FOREIGN KEY ("plan_code") REFERENCES "mapping"."plan_company" ("plan_code");
