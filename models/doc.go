// Package models holds roombridge's domain: plain types (offices, rooms, users,
// reservations, outbox jobs, audit entries), the pure rules (routing a booking by its
// date, validation), the error kinds every layer shares, and the one concrete Store on
// gorm. It imports nothing else of the project.
package models
