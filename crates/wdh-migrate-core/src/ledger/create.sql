CREATE SCHEMA IF NOT EXISTS "wdh_migrate";
CREATE TABLE "wdh_migrate"."format" (
    "format" integer NOT NULL,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    "created_by" text NOT NULL DEFAULT session_user
);
INSERT INTO "wdh_migrate"."format" ("format") VALUES (4);
CREATE TABLE "wdh_migrate"."applied" (
    "version" text PRIMARY KEY,
    "name" text NOT NULL,
    "checksum" text NOT NULL,
    "applied_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
    "execution_ms" double precision NOT NULL,
    "applied_by" text NOT NULL DEFAULT session_user,
    "client_addr" inet DEFAULT inet_client_addr(),
    "no_transaction" boolean NOT NULL DEFAULT false
);
CREATE TABLE "wdh_migrate"."failed" (
    "version" text PRIMARY KEY,
    "name" text NOT NULL,
    "direction" text NOT NULL,
    "state" text NOT NULL,
    "statements_done" integer NOT NULL DEFAULT 0,
    "statements_total" integer NOT NULL,
    "error" text,
    "backend_pid" integer NOT NULL DEFAULT pg_backend_pid(),
    "failed_at" timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE "wdh_migrate"."audit" (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "at" timestamptz NOT NULL DEFAULT clock_timestamp(),
    "operation" text NOT NULL,
    "from_version" text,
    "to_version" text,
    "target_database" text NOT NULL DEFAULT current_database(),
    "target" text NOT NULL,
    "role" text NOT NULL DEFAULT session_user,
    "client_addr" inet DEFAULT inet_client_addr(),
    "outcome" text NOT NULL,
    "error" text,
    "override_used" boolean NOT NULL DEFAULT false,
    "tool_version" text NOT NULL,
    "destructive" text
);
CREATE FUNCTION "wdh_migrate"."audit_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'wdh_migrate.audit is append-only';
END
$fn$;
CREATE TRIGGER "append_only" BEFORE UPDATE OR DELETE ON "wdh_migrate"."audit"
    FOR EACH ROW EXECUTE FUNCTION "wdh_migrate"."audit_is_append_only"();
CREATE TRIGGER "no_truncate" BEFORE TRUNCATE ON "wdh_migrate"."audit"
    FOR EACH STATEMENT EXECUTE FUNCTION "wdh_migrate"."audit_is_append_only"();
