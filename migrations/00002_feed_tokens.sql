-- Per-user secrets in feed URLs (/ical/{token}/...). Only the SHA-256 of a token is kept
-- (lowercase hex), so a leaked database does not leak working subscription URLs. A
-- revoked token stays as a row so the owner's list can show it went away on purpose.

-- +goose Up
CREATE TABLE feed_tokens (
    id           VARCHAR(32)  NOT NULL PRIMARY KEY,
    user_id      VARCHAR(64)  NOT NULL,
    token_hash   VARCHAR(64)  NOT NULL,
    label        VARCHAR(200) NOT NULL DEFAULT '',
    created_at   DATETIME     NOT NULL,
    last_used_at DATETIME     NULL,
    revoked_at   DATETIME     NULL
);
CREATE UNIQUE INDEX feed_tokens_hash ON feed_tokens (token_hash);
CREATE INDEX feed_tokens_user ON feed_tokens (user_id, created_at);

-- +goose Down
DROP TABLE feed_tokens;
