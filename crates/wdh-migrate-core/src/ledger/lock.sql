CREATE TABLE "wdh_migrate"."lock" (
    "id" integer PRIMARY KEY CHECK ("id" = 1),
    "holder" text,
    "operation" text,
    "client" text,
    "pid" integer,
    "role" text,
    "client_addr" inet,
    "acquired_at" timestamptz,
    "heartbeat_at" timestamptz,
    "lease_ms" integer
);
INSERT INTO "wdh_migrate"."lock" ("id") VALUES (1);
