-- Incremental sync: the cursor (DingTalk's syncToken) of each calendar a backend's sync
-- reads by changes, so a restart resumes with a delta instead of a full read. A missing
-- row means the next read of that calendar is a full one.

-- +goose Up
CREATE TABLE sync_tokens (
    backend    VARCHAR(16)  NOT NULL,
    calendar   VARCHAR(64)  NOT NULL,
    token      TEXT         NOT NULL,
    updated_at DATETIME     NOT NULL,
    PRIMARY KEY (backend, calendar)
);

-- +goose Down
DROP TABLE sync_tokens;
