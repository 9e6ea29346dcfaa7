-- How the backend names a reservation's organizer ("oa-member:<id>", "dingtalk-union:<id>",
-- ...), kept for native bookings so one whose organizer the catalog cannot map stays
-- identifiable until the catalog learns them.

-- +goose Up
ALTER TABLE reservations ADD COLUMN organizer_ref VARCHAR(200) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reservations DROP COLUMN organizer_ref;
