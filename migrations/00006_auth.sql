-- Sign-in: users that left the catalog are kept (old reservations name them) but marked
-- removed, so no session, header or feed token of theirs is honoured; and small secrets
-- the replicas must share, such as the key that signs session cookies.

-- +goose Up
ALTER TABLE users ADD COLUMN removed BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE secrets (
    name       VARCHAR(64)  NOT NULL PRIMARY KEY,
    value      VARCHAR(255) NOT NULL,
    created_at DATETIME     NOT NULL
);

-- +goose Down
DROP TABLE secrets;
ALTER TABLE users DROP COLUMN removed;
