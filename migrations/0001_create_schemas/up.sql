-- The three schemas of the data hub.
CREATE SCHEMA "enterprise";
CREATE SCHEMA "mapping";
CREATE SCHEMA "business";
