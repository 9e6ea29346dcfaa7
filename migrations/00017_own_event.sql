-- own_event marks an occurrence of a series whose DingTalk booking is an event of its own
-- rather than an occurrence of the series' recurring event: one moved or renamed alone,
-- or booked again in its slot after a move of it was refused. A later change to the
-- series (a cancel, a move) releases such an event by itself; the recurring event's cut
-- or deletion does not. Rows written before the column existed are told as before, by
-- comparing them with their series (models.Reservation.OwnEvent).

-- +goose Up
ALTER TABLE reservations ADD COLUMN own_event SMALLINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE reservations DROP COLUMN own_event;
