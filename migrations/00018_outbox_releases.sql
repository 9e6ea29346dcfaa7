-- The backend bookings a job releases besides the one in outbox_jobs.remote_id: the
-- occurrences of a DingTalk recurring event that a series_cancel cuts off or a
-- series_prune deletes, after their reservations let go of their ids (a series changed
-- from one occurrence on). A sync pass that finds a backend booking no reservation holds
-- asks, as through outbox_remote, whether a pending job releases it, and leaves it alone
-- if so.

-- +goose Up
CREATE TABLE outbox_releases (
    job_id    VARCHAR(32)  NOT NULL,
    backend   VARCHAR(16)  NOT NULL,
    remote_id VARCHAR(128) NOT NULL,
    PRIMARY KEY (job_id, remote_id)
);
CREATE INDEX outbox_releases_remote ON outbox_releases (backend, remote_id);

-- +goose Down
DROP TABLE outbox_releases;
