DROP TABLE "business"."annuity_performance";
