-- wdh:no-transaction
-- Built without blocking writes on a live table; cannot run in a transaction.
CREATE INDEX CONCURRENTLY "annuity_performance_report_month_idx"
    ON "business"."annuity_performance" ("report_month");
