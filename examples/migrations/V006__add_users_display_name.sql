-- Nullable and without a volatile default: a catalog-only change.
ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name text;
