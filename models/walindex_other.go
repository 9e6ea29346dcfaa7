//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package models

import "errors"

// walIndex is not read on this system: every feed lookup asks PRAGMA data_version.
type walIndex struct{}

type walHeader [12]uint32

func openWALIndex(string) (*walIndex, error) {
	return nil, errors.New("wal index: not mapped on this system")
}

func (*walIndex) header() (walHeader, bool) { return walHeader{}, false }

func (*walIndex) close() {}
