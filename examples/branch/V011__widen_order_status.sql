SET lock_timeout = '5s';

-- Rewrites the orders table under ACCESS EXCLUSIVE.
ALTER TABLE orders ALTER COLUMN status TYPE varchar(32);
