-- A new table and its index in the same migration: no lock on anything that exists.
CREATE TABLE IF NOT EXISTS user_profiles (
    user_id bigint PRIMARY KEY REFERENCES users (id),
    bio     text
);
CREATE INDEX IF NOT EXISTS user_profiles_bio_idx ON user_profiles (bio);
