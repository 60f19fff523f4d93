CREATE FUNCTION "wdh_migrate"."step_fence"("xid" bigint, "token" text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF pg_catalog.txid_current() OPERATOR(pg_catalog.<>) "xid" THEN
        RAISE EXCEPTION 'wdh-migrate: the script ended the migration''s transaction itself' USING ERRCODE = 'WM002';
    END IF;
    IF "token" IS NOT NULL THEN
        UPDATE "wdh_migrate"."lock" SET "heartbeat_at" = pg_catalog.clock_timestamp()
         WHERE "id" OPERATOR(pg_catalog.=) 1 AND "holder" OPERATOR(pg_catalog.=) "token";
        IF NOT FOUND THEN
            RAISE EXCEPTION 'wdh-migrate: this run no longer holds the migration lock (its lease expired and another run may have taken it)' USING ERRCODE = 'WM001';
        END IF;
    END IF;
END
$fn$;
