-- Conflicts between the two systems (and inside one), found by detection after every
-- sync pass, backend event and bridge write. A conflict is stored once per cause (the
-- cause is a stable key such as "overlap:<id>:<id>"); re-detection updates it and a
-- conflict whose cause went away closes itself. Rules, suggestions and errors are codes
-- with JSON arguments: the web layer renders them.

-- +goose Up
CREATE TABLE conflicts (
    id             VARCHAR(32)  NOT NULL PRIMARY KEY,
    cause          VARCHAR(191) NOT NULL,
    kind           VARCHAR(16)  NOT NULL,
    status         VARCHAR(16)  NOT NULL,
    office_id      VARCHAR(64)  NOT NULL DEFAULT '',
    room_id        VARCHAR(64)  NOT NULL DEFAULT '',
    starts_at      DATETIME     NOT NULL,
    ends_at        DATETIME     NOT NULL,
    rule           VARCHAR(64)  NOT NULL,
    rule_args      TEXT         NOT NULL,
    suggest_action VARCHAR(16)  NOT NULL DEFAULT '',
    suggest_keep   VARCHAR(32)  NOT NULL DEFAULT '',
    sides          TEXT         NOT NULL,
    resolution     VARCHAR(16)  NOT NULL DEFAULT '',
    resolution_arg VARCHAR(64)  NOT NULL DEFAULT '',
    outcome        VARCHAR(16)  NOT NULL DEFAULT '',
    resolved_by    VARCHAR(64)  NOT NULL DEFAULT '',
    note           TEXT         NOT NULL,
    error_code     VARCHAR(64)  NOT NULL DEFAULT '',
    error_detail   TEXT         NOT NULL,
    detected_at    DATETIME     NOT NULL,
    updated_at     DATETIME     NOT NULL,
    closed_at      DATETIME     NULL
);
CREATE UNIQUE INDEX conflicts_cause ON conflicts (cause);
CREATE INDEX conflicts_status ON conflicts (status, starts_at);

-- Which reservations a conflict concerns, so the conflicts of changed reservations and
-- the warnings on a booking are indexed lookups.
CREATE TABLE conflict_members (
    conflict_id    VARCHAR(32) NOT NULL,
    reservation_id VARCHAR(32) NOT NULL,
    PRIMARY KEY (conflict_id, reservation_id)
);
CREATE INDEX conflict_members_reservation ON conflict_members (reservation_id);

-- Detection reads the reservations holding a room around each changed one: with the end
-- and the status in the index, only the overlapping rows are read from the table.
CREATE INDEX reservations_room_span ON reservations (room_id, starts_at, ends_at, status);

-- The audit log is filtered by who and what on the admin console.
CREATE INDEX audit_actor ON audit_log (actor, at);
CREATE INDEX audit_action ON audit_log (action, at);

-- +goose Down
-- (DROP INDEX is spelled differently on MySQL and SQLite; the audit indexes stay.)
DROP TABLE conflict_members;
DROP TABLE conflicts;
