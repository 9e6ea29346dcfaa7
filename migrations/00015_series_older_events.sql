-- The DingTalk recurring events a series made before its current one (dingtalk_event_id)
-- that may still hold occurrences: a change "this and following" from a DingTalk
-- occurrence other than the first shortens the event and makes a new one from there, and
-- a change whose new event DingTalk refused leaves the series' occurrences in the event
-- they had. A JSON array of event ids; NULL or [] when there is none. Such an event is
-- deleted once none of its occurrences is left.

-- +goose Up
ALTER TABLE series ADD COLUMN dingtalk_older_events TEXT NULL;

-- +goose Down
ALTER TABLE series DROP COLUMN dingtalk_older_events;
