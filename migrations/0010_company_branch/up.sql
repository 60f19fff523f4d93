CREATE TABLE "enterprise"."company_branch" (
    "company_id" text NOT NULL REFERENCES "enterprise"."company" ("company_id") ON DELETE CASCADE,
    "branch_no" integer NOT NULL CHECK ("branch_no" > 0),
    "city" text NOT NULL,
    PRIMARY KEY ("company_id", "branch_no")
);

COMMENT ON TABLE "enterprise"."company_branch" IS 'Branches of a company, numbered per company';
