-- Looks safe, but refinery runs every migration inside a transaction:
-- PostgreSQL refuses CONCURRENTLY there (SQLSTATE 25001).
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx
    ON orders (created_at);
