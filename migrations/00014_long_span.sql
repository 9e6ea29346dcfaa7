-- Reads by time (availability, the day grid, feeds) find a room's bookings in a bounded
-- range of start times: a booking that lasts at most a day starts no earlier than a day
-- before the window it overlaps. long_span marks the others (and every row whose length
-- is not known), which are read apart through their own index; the application sets it
-- on every write (models.Reservation.LongSpan).

-- +goose Up
ALTER TABLE reservations ADD COLUMN long_span SMALLINT NOT NULL DEFAULT 1;

-- Rows already there: known to last at most a day when they end on the day they start,
-- or on the next day of the same month no later in the day than they started. Every
-- other row stays marked, which costs a little reading, never a missed booking. Times
-- compare as text: SQLite stores them so, MySQL converts DATETIME to the same form.
UPDATE reservations SET long_span = 0
WHERE SUBSTR(starts_at, 1, 10) = SUBSTR(ends_at, 1, 10)
   OR (SUBSTR(starts_at, 1, 7) = SUBSTR(ends_at, 1, 7)
       AND CAST(SUBSTR(ends_at, 9, 2) AS INTEGER) = CAST(SUBSTR(starts_at, 9, 2) AS INTEGER) + 1
       AND SUBSTR(ends_at, 12) <= SUBSTR(starts_at, 12));

CREATE INDEX reservations_long ON reservations (long_span, room_id, starts_at);

-- +goose Down
-- The column and its index stay: dropping an indexed column is written differently on
-- MySQL and SQLite, and the earlier schema's code ignores it.
