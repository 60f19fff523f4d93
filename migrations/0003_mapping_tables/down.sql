DROP TABLE "mapping"."plan_company";
DROP TABLE "mapping"."product_line";
