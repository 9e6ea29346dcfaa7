//go:build linux || darwin || freebsd || netbsd || openbsd

package models

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex is a read-only map of the head of a SQLite database's WAL index (the -shm
// file beside it), which every connection of every process shares. Its header, two
// copies of 48 bytes (https://sqlite.org/walformat.html, "The WAL-Index Header"), is
// rewritten on every commit (the frame count and the change counter rise) before the
// commit returns: the second copy first, then the first. A reader that finds both
// copies equal has read a whole header; one equal to an earlier reading means nothing
// was committed in between. SQLite itself decides the same way whether its cached
// pages (and PRAGMA data_version) are still current.
type walIndex struct{ b []byte }

// walHeader is one whole copy of the WAL-index header, as 32-bit words.
type walHeader [12]uint32

// walIndexHeaderBytes is the size of both copies of the header.
const walIndexHeaderBytes = 96

// openWALIndex maps the WAL index of the database at dbPath. The caller must hold a
// connection in WAL mode that has read the database: while one does, SQLite never
// truncates the file.
func openWALIndex(dbPath string) (*walIndex, error) {
	f, err := os.Open(dbPath + "-shm")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < walIndexHeaderBytes {
		return nil, fmt.Errorf("wal index %s-shm: %d bytes", dbPath, st.Size())
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, walIndexHeaderBytes, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &walIndex{b: b}, nil
}

// header reads the header; ok is false while a commit is rewriting it or before the
// index is initialised.
func (w *walIndex) header() (h walHeader, ok bool) {
	for i := range h {
		h[i] = atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.b[4*i])))
	}
	for i := range h {
		if atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.b[48+4*i]))) != h[i] {
			return h, false
		}
	}
	var word [4]byte
	binary.NativeEndian.PutUint32(word[:], h[3]) // isInit is byte 12
	return h, word[0] != 0
}

// close unmaps the index.
func (w *walIndex) close() { _ = syscall.Munmap(w.b) }
