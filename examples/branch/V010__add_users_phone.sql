ALTER TABLE users ADD COLUMN phone varchar(20);

-- Scans the whole table under ACCESS EXCLUSIVE.
ALTER TABLE users ALTER COLUMN phone SET NOT NULL;
