package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// rotatedName is the name of the n-th previous file of path (path.n).
func rotatedName(path string, n int) string {
	return path + "." + strconv.Itoa(n)
}

// rotate shifts the files (path.(N-2) → path.(N-1), ..., path → path.1,
// the oldest dropped by the rename over it) and opens a new, empty live
// file. With MaxFiles 1 the live file is unlinked and created anew rather
// than truncated in place: a follower holding the old one reads it to its
// end and then moves to the new file, losing nothing.
func (w *Writer) rotate() error {
	var err error
	if cerr := w.f.Close(); cerr != nil {
		err = fmt.Errorf("close log file %s: %w", w.path, cerr)
	}
	if w.opts.MaxFiles >= 2 {
		for i := w.opts.MaxFiles - 1; i > 1; i-- {
			rerr := os.Rename(rotatedName(w.path, i-1), rotatedName(w.path, i))
			if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, fmt.Errorf("rotate log file: %w", rerr))
			}
		}
		if rerr := os.Rename(w.path, rotatedName(w.path, 1)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("rotate log file: %w", rerr))
		}
	} else if rerr := os.Remove(w.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("rotate log file: %w", rerr))
	}
	// Whatever happened above, keep a live file to write to: truncated
	// if the rename failed, so the size bound still holds.
	f, size, oerr := openLive(w.path, true)
	if oerr != nil {
		// No file to write to: later writes fail with ErrClosed
		// rather than on a closed *os.File.
		w.closed = true
		return errors.Join(err, oerr)
	}
	w.f, w.size = f, size
	return err
}
