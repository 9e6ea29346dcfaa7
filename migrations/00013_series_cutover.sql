-- The cutover a series was split with: its occurrences before it were sent to the OA,
-- the rest to DingTalk. When the configured cutover changes, migrate-bookings finds the
-- series whose split no longer matches and moves their occurrences (same UID, SEQUENCE
-- raised). NULL for series booked before this column existed: their occurrences' systems
-- are compared with the cutover instead.

-- +goose Up
ALTER TABLE series ADD COLUMN cutover DATETIME NULL;

-- +goose Down
ALTER TABLE series DROP COLUMN cutover;
