CREATE TABLE "business"."annuity_performance" (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "report_month" date NOT NULL,
    "plan_code" text NOT NULL REFERENCES "mapping"."plan_company" ("plan_code"),
    "company_id" text NOT NULL REFERENCES "enterprise"."company" ("company_id"),
    "beginning_assets" numeric(18, 2) NOT NULL DEFAULT 0,
    "ending_assets" numeric(18, 2) NOT NULL DEFAULT 0,
    "net_flow" numeric(18, 2) NOT NULL DEFAULT 0,
    CONSTRAINT "annuity_performance_month_plan" UNIQUE ("report_month", "plan_code")
);

CREATE INDEX "annuity_performance_company_idx" ON "business"."annuity_performance" ("company_id", "report_month");
