DROP TRIGGER "annuity_performance_touch" ON "business"."annuity_performance";
DROP FUNCTION "business"."touch_updated_at"();
ALTER TABLE "business"."annuity_performance" DROP COLUMN "updated_at";
