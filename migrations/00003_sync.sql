-- Sync bookkeeping: one row per pass of each backend's sync, and small per-backend
-- state (cursors, the OA's final snapshot marker, metered call counts per month).

-- +goose Up
CREATE TABLE sync_runs (
    id            VARCHAR(32)  NOT NULL PRIMARY KEY,
    backend       VARCHAR(16)  NOT NULL,
    started_at    DATETIME     NOT NULL,
    duration_ms   BIGINT       NOT NULL DEFAULT 0,
    window_from   DATETIME     NOT NULL,
    window_to     DATETIME     NOT NULL,
    seen          INT          NOT NULL DEFAULT 0,
    created       INT          NOT NULL DEFAULT 0,
    updated       INT          NOT NULL DEFAULT 0,
    cancelled     INT          NOT NULL DEFAULT 0,
    errors        INT          NOT NULL DEFAULT 0,
    metered_calls INT          NOT NULL DEFAULT 0,
    guarded       INT          NOT NULL DEFAULT 0,
    note          TEXT         NOT NULL
);
CREATE INDEX sync_runs_backend ON sync_runs (backend, started_at);

CREATE TABLE sync_state (
    backend    VARCHAR(16)  NOT NULL,
    name       VARCHAR(64)  NOT NULL,
    value      TEXT         NOT NULL,
    updated_at DATETIME     NOT NULL,
    PRIMARY KEY (backend, name)
);

-- +goose Down
DROP TABLE sync_state;
DROP TABLE sync_runs;
