package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxEntry bounds one line of a log file. The Writer's longest entry is
// about 6*MaxLine (every byte escaped as \u00XX); longer lines are not
// the Writer's and are skipped without being held in memory.
const maxEntry = 1 << 20

// readChunk is how much a reader asks of the file at once.
const readChunk = 64 << 10

// lineReader hands out the complete lines of a file from an offset on,
// reading with ReadAt so that it never depends on a shared file offset.
// Bytes after the last '\n' stay buffered until the line is completed,
// which lets a follower pick up a line the writer is still writing.
type lineReader struct {
	f        io.ReaderAt
	off      int64 // offset of the next byte to read from f
	limit    int64 // read no byte at or past this offset; < 0: no limit
	buf      []byte
	r, w     int  // buf[r:w] is read but not handed out
	skipping bool // inside a line longer than maxEntry: drop up to its '\n'
	skipped  int  // overlong lines dropped, for the caller's log
}

// next returns the next complete line, without its '\n', valid until the
// next call; ok is false when no complete line is available yet.
func (lr *lineReader) next() (line []byte, ok bool, err error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.r:lr.w], '\n'); i >= 0 {
			line = lr.buf[lr.r : lr.r+i]
			lr.r += i + 1
			if lr.skipping {
				lr.skipping = false
				continue
			}
			return line, true, nil
		}
		if lr.r > 0 {
			lr.w = copy(lr.buf, lr.buf[lr.r:lr.w])
			lr.r = 0
		}
		if lr.w == len(lr.buf) {
			switch {
			case len(lr.buf) >= maxEntry:
				// An overlong line: forget it up to its end.
				if !lr.skipping {
					lr.skipped++
				}
				lr.skipping, lr.w = true, 0
			case len(lr.buf) == 0:
				lr.buf = make([]byte, readChunk)
			default:
				lr.buf = append(lr.buf, make([]byte, len(lr.buf))...)
			}
		}
		want := lr.buf[lr.w:]
		if lr.limit >= 0 {
			left := lr.limit - lr.off
			if left <= 0 {
				return nil, false, nil
			}
			if int64(len(want)) > left {
				want = want[:left]
			}
		}
		n, err := lr.f.ReadAt(want, lr.off)
		lr.off += int64(n)
		lr.w += n
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("read log: %w", err)
		}
	}
}

// leftover is how many bytes of an unfinished line are buffered.
func (lr *lineReader) leftover() int {
	if lr.skipping {
		return 1
	}
	return lr.w - lr.r
}

// reset starts over at off, forgetting what is buffered.
func (lr *lineReader) reset(off int64) {
	lr.off, lr.r, lr.w, lr.skipping = off, 0, 0, false
}

// scanBackward calls fn with the lines of f[0:end) from the last to the
// first, each without its '\n', until fn returns false. A last line
// without '\n' is handed out as it is. Lines longer than maxEntry are
// skipped without being held in memory. The slice passed to fn is valid
// only during the call.
func scanBackward(f io.ReaderAt, end int64, fn func(line []byte) bool) error {
	var (
		// buf is f[pos:pos+len(buf)]: the not yet handed out front of
		// the region, its final '\n' removed.
		buf, spare []byte
		pos        = end
		first      = true
		skipping   bool
	)
	for {
		for {
			j := bytes.LastIndexByte(buf, '\n')
			if j < 0 {
				break
			}
			if !fn(buf[j+1:]) {
				return nil
			}
			buf = buf[:j]
		}
		if pos == 0 {
			if len(buf) > 0 && !skipping {
				fn(buf)
			}
			return nil
		}
		if len(buf) > maxEntry {
			buf, skipping = buf[:0], true
		}
		n := min(int64(readChunk), pos)
		pos -= n
		if need := int(n) + len(buf); cap(spare) < need {
			spare = make([]byte, need)
		}
		spare = spare[:n]
		if _, err := f.ReadAt(spare, pos); err != nil {
			return fmt.Errorf("read log at %d: %w", pos, err)
		}
		if first {
			spare = bytes.TrimSuffix(spare, []byte{'\n'})
			first = false
		}
		if skipping {
			j := bytes.LastIndexByte(spare, '\n')
			if j < 0 {
				continue
			}
			skipping = false
			spare = spare[:j]
			buf, spare = spare, buf
			continue
		}
		spare = append(spare, buf...)
		buf, spare = spare, buf
	}
}

// lastLineEnd returns the offset just past the last '\n' in f[0:size), 0
// if there is none: where complete lines end while a writer may be in the
// middle of one.
func lastLineEnd(f io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		n := min(int64(len(buf)), end)
		start := end - n
		if _, err := f.ReadAt(buf[:n], start); err != nil {
			return 0, fmt.Errorf("read log at %d: %w", start, err)
		}
		if j := bytes.LastIndexByte(buf[:n], '\n'); j >= 0 {
			return start + int64(j) + 1, nil
		}
		end = start
	}
	return 0, nil
}
