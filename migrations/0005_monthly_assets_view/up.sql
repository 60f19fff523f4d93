CREATE VIEW "business"."monthly_assets" AS
SELECT p."report_month",
       p."company_id",
       c."name" AS "company_name",
       sum(p."ending_assets") AS "ending_assets",
       sum(p."net_flow") AS "net_flow"
  FROM "business"."annuity_performance" p
  JOIN "enterprise"."company" c USING ("company_id")
 GROUP BY p."report_month", p."company_id", c."name";

COMMENT ON VIEW "business"."monthly_assets" IS 'Assets and net flow per company and month';
