-- A reservation's reason is stored as a code and its arguments (a JSON object), which
-- the web layer renders in the reader's language. The old free-text column stays for
-- rows written before: they are shown as they are.

-- +goose Up
ALTER TABLE reservations ADD COLUMN reason_code VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN reason_args TEXT NULL;

-- +goose Down
ALTER TABLE reservations DROP COLUMN reason_args;
ALTER TABLE reservations DROP COLUMN reason_code;
