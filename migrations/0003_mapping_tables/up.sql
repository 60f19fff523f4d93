CREATE TABLE "mapping"."product_line" (
    "code" text PRIMARY KEY,
    "name" text NOT NULL
);

CREATE TABLE "mapping"."plan_company" (
    "plan_code" text PRIMARY KEY,
    "company_id" text NOT NULL REFERENCES "enterprise"."company" ("company_id"),
    "product_line_code" text NOT NULL REFERENCES "mapping"."product_line" ("code"),
    "valid_from" date NOT NULL DEFAULT DATE '2000-01-01',
    CONSTRAINT "plan_code_format" CHECK ("plan_code" ~ '^[A-Z0-9]{4,16}$')
);
