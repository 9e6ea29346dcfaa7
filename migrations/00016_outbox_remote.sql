-- Outbox jobs by the backend booking they name: a sync pass that finds a backend booking
-- no reservation holds asks whether a pending job is releasing it (the old booking of a
-- reservation being moved), and leaves it alone if so.

-- +goose Up
CREATE INDEX outbox_remote ON outbox_jobs (backend, remote_id);

-- +goose Down
-- outbox_remote stays: MySQL and SQLite spell DROP INDEX differently, and the index is
-- harmless to earlier versions.
