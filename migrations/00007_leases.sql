-- Replicas: a claimed outbox job names the instance that holds it (locked_by), so a
-- restarted instance takes back at once what it held when it died; and small named
-- leases (one row each) elect the one replica that runs a backend's background sync
-- and keep sync passes of one backend from overlapping. A lease is held by whoever
-- updates its row while expires_at is past or the row is already theirs; no database
-- lock functions are used, so the same SQL runs on MySQL, MariaDB, TiDB and SQLite.

-- +goose Up
ALTER TABLE outbox_jobs ADD COLUMN locked_by VARCHAR(128) NULL;

CREATE TABLE leases (
    name       VARCHAR(128) NOT NULL PRIMARY KEY,
    holder     VARCHAR(128) NOT NULL,
    expires_at DATETIME     NOT NULL,
    updated_at DATETIME     NOT NULL
);

-- +goose Down
DROP TABLE leases;
ALTER TABLE outbox_jobs DROP COLUMN locked_by;
