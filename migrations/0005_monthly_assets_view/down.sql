DROP VIEW "business"."monthly_assets";
