DROP SCHEMA "business";
DROP SCHEMA "mapping";
DROP SCHEMA "enterprise";
