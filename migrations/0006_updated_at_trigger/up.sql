ALTER TABLE "business"."annuity_performance"
    ADD COLUMN "updated_at" timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION "business"."touch_updated_at"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW."updated_at" := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER "annuity_performance_touch"
    BEFORE UPDATE ON "business"."annuity_performance"
    FOR EACH ROW EXECUTE FUNCTION "business"."touch_updated_at"();
