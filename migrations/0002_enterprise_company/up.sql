CREATE TABLE "enterprise"."company" (
    "company_id" text PRIMARY KEY,
    "name" text NOT NULL,
    "unified_credit_code" char(18) UNIQUE,
    "created_at" timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "enterprise"."company_alias" (
    "alias" text PRIMARY KEY,
    "company_id" text NOT NULL REFERENCES "enterprise"."company" ("company_id") ON DELETE CASCADE,
    "source" text NOT NULL DEFAULT 'manual'
);

CREATE INDEX "company_alias_company_id_idx" ON "enterprise"."company_alias" ("company_id");
