CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.updated_at := now();  -- a semicolon inside a dollar-quoted body
    RETURN NEW;
END;
$fn$;
