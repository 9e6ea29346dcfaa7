-- Change stamps for the feed cache: one counter per scope ("room:<id>" for every room a
-- reservation was ever written in, "catalog" for offices, rooms and users). Every write
-- that changes what a feed shows raises the counters of the scopes it touched, in the
-- same transaction, so the sum of a feed's counters identifies its content without
-- reading a single reservation. Counters only rise; rows are never deleted.

-- +goose Up
CREATE TABLE feed_stamps (
    scope   VARCHAR(80) NOT NULL PRIMARY KEY,
    version BIGINT      NOT NULL DEFAULT 0
);

-- The all-rooms feed reads the window by start time in parallel slices.
CREATE INDEX reservations_start ON reservations (starts_at);

-- +goose Down
-- reservations_start stays: MySQL and SQLite spell DROP INDEX differently, and the index
-- is harmless to earlier versions.
DROP TABLE feed_stamps;
