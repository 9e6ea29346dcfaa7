-- The schema is portable SQL that MySQL/MariaDB and SQLite both accept: string ids
-- issued by the application (no AUTO_INCREMENT), DATETIME columns always written in
-- UTC, VARCHAR for everything that is indexed.

-- +goose Up
CREATE TABLE offices (
    id       VARCHAR(64)  NOT NULL PRIMARY KEY,
    name     VARCHAR(200) NOT NULL,
    position INT          NOT NULL DEFAULT 0
);

CREATE TABLE rooms (
    id               VARCHAR(64)  NOT NULL PRIMARY KEY,
    office_id        VARCHAR(64)  NOT NULL,
    name             VARCHAR(200) NOT NULL,
    floor            VARCHAR(32)  NOT NULL DEFAULT '',
    capacity         INT          NOT NULL DEFAULT 0,
    oa_room_id       VARCHAR(64)  NOT NULL DEFAULT '',
    dingtalk_room_id VARCHAR(128) NOT NULL DEFAULT '',
    position         INT          NOT NULL DEFAULT 0,
    booking_version  BIGINT       NOT NULL DEFAULT 0
);
CREATE INDEX rooms_office ON rooms (office_id);

CREATE TABLE users (
    id                VARCHAR(64)  NOT NULL PRIMARY KEY,
    name              VARCHAR(200) NOT NULL,
    oa_login          VARCHAR(128) NOT NULL DEFAULT '',
    dingtalk_user_id  VARCHAR(128) NOT NULL DEFAULT '',
    dingtalk_union_id VARCHAR(128) NOT NULL DEFAULT ''
);

-- Every booking from both systems: made through the bridge (origin 'bridge') or found
-- by sync (origin 'native'). uid is issued once and never changes, even when a booking
-- moves from one backend to the other.
CREATE TABLE reservations (
    id              VARCHAR(32)   NOT NULL PRIMARY KEY,
    uid             VARCHAR(255)  NOT NULL,
    room_id         VARCHAR(64)   NOT NULL,
    starts_at       DATETIME   NOT NULL,
    ends_at         DATETIME   NOT NULL,
    title           VARCHAR(500)  NOT NULL,
    description     TEXT          NOT NULL,
    organizer_id    VARCHAR(64)   NOT NULL DEFAULT '',
    organizer_name  VARCHAR(200)  NOT NULL DEFAULT '',
    attendees       TEXT          NOT NULL,
    backend         VARCHAR(16)   NOT NULL,
    remote_id       VARCHAR(128)  NULL,
    origin          VARCHAR(16)   NOT NULL,
    status          VARCHAR(16)   NOT NULL,
    reason          TEXT          NOT NULL,
    sequence        INT           NOT NULL DEFAULT 0,
    idempotency_key VARCHAR(128)  NULL,
    created_at      DATETIME   NOT NULL,
    updated_at      DATETIME   NOT NULL
);
CREATE UNIQUE INDEX reservations_uid ON reservations (uid);
CREATE UNIQUE INDEX reservations_remote ON reservations (backend, remote_id);
CREATE UNIQUE INDEX reservations_idempotency ON reservations (organizer_id, idempotency_key);
CREATE INDEX reservations_room_time ON reservations (room_id, starts_at);
CREATE INDEX reservations_organizer ON reservations (organizer_id, starts_at);
CREATE INDEX reservations_updated ON reservations (updated_at);

-- Backend writes waiting to happen. A job is claimed with a lease (locked_until) so a
-- crashed process's jobs are picked up again; jobs of one reservation run in order.
CREATE TABLE outbox_jobs (
    id              VARCHAR(32)  NOT NULL PRIMARY KEY,
    reservation_id  VARCHAR(32)  NOT NULL,
    kind            VARCHAR(16)  NOT NULL,
    backend         VARCHAR(16)  NOT NULL,
    remote_id       VARCHAR(128) NOT NULL DEFAULT '',
    seq             INT          NOT NULL DEFAULT 0,
    payload         TEXT         NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at DATETIME  NOT NULL,
    locked_until    DATETIME  NULL,
    last_error      TEXT         NOT NULL,
    created_at      DATETIME  NOT NULL,
    updated_at      DATETIME  NOT NULL
);
CREATE INDEX outbox_due ON outbox_jobs (state, next_attempt_at);
CREATE INDEX outbox_reservation ON outbox_jobs (reservation_id, seq);

CREATE TABLE audit_log (
    id             VARCHAR(32)  NOT NULL PRIMARY KEY,
    at             DATETIME  NOT NULL,
    actor          VARCHAR(64)  NOT NULL,
    action         VARCHAR(64)  NOT NULL,
    reservation_id VARCHAR(32)  NOT NULL DEFAULT '',
    seq            INT          NOT NULL DEFAULT 0,
    detail         TEXT         NOT NULL
);
CREATE INDEX audit_reservation ON audit_log (reservation_id, seq);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE outbox_jobs;
DROP TABLE reservations;
DROP TABLE users;
DROP TABLE rooms;
DROP TABLE offices;
