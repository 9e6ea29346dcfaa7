-- English forms of office and room names from the catalog (name_en), which the English
-- UI shows; empty when the catalog gives none (the Chinese name is shown then).

-- +goose Up
ALTER TABLE offices ADD COLUMN name_en VARCHAR(200) NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN name_en VARCHAR(200) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE rooms DROP COLUMN name_en;
ALTER TABLE offices DROP COLUMN name_en;
