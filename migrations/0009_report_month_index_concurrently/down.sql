-- wdh:no-transaction
DROP INDEX CONCURRENTLY "business"."annuity_performance_report_month_idx";
