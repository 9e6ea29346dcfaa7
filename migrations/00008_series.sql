-- Recurring bookings. A series is one row here (its RRULE, the occurrences left out of
-- it, the DingTalk recurring event that holds its DingTalk part) and one reservation per
-- occurrence, linked by series_id, so availability, conflicts and sync read occurrences
-- like any other booking. recurrence_id is an occurrence's original start (RECURRENCE-ID):
-- it stays when the occurrence alone is moved.

-- +goose Up
CREATE TABLE series (
    id                VARCHAR(32)   NOT NULL PRIMARY KEY,
    uid               VARCHAR(255)  NOT NULL,
    room_id           VARCHAR(64)   NOT NULL,
    title             VARCHAR(500)  NOT NULL,
    description       TEXT          NOT NULL,
    organizer_id      VARCHAR(64)   NOT NULL DEFAULT '',
    organizer_name    VARCHAR(200)  NOT NULL DEFAULT '',
    attendees         TEXT          NOT NULL,
    rrule             VARCHAR(500)  NOT NULL,
    starts_at         DATETIME      NOT NULL,
    ends_at           DATETIME      NOT NULL,
    time_zone         VARCHAR(64)   NOT NULL,
    exdates           TEXT          NOT NULL,
    dingtalk_event_id VARCHAR(128)  NULL,
    status            VARCHAR(16)   NOT NULL,
    sequence          INT           NOT NULL DEFAULT 0,
    idempotency_key   VARCHAR(128)  NULL,
    created_at        DATETIME      NOT NULL,
    updated_at        DATETIME      NOT NULL
);
CREATE UNIQUE INDEX series_uid ON series (uid);
CREATE UNIQUE INDEX series_idempotency ON series (organizer_id, idempotency_key);
CREATE INDEX series_organizer ON series (organizer_id, starts_at);

ALTER TABLE reservations ADD COLUMN series_id VARCHAR(32) NULL;
ALTER TABLE reservations ADD COLUMN recurrence_id DATETIME NULL;
CREATE INDEX reservations_series ON reservations (series_id, recurrence_id);

-- +goose Down
-- The two reservation columns stay: dropping an indexed column is written differently on
-- MySQL and SQLite, and empty columns are harmless to the earlier schema's code.
DROP TABLE series;
