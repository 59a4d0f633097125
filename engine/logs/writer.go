package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// MaxLine is the longest piece of a line written as one entry: a longer
// line is cut into entries of MaxLine bytes whose text has no '\n', the
// last piece ending with it, as Docker does with its 16K partial
// messages. Reading the entries back in order rebuilds the line.
const MaxLine = 16 << 10

// flushAt is how many encoded bytes the Writer gathers before one write:
// a large Write costs a few syscalls, not one per line, while memory stays
// bounded.
const flushAt = 64 << 10

// fileMode is the log files' permission, as Docker's.
const fileMode = 0o640

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("log writer closed")

// Writer appends a container's output to a json-file log, rotating by
// size: the reference for the C monitor's writer (see the package doc).
// It is safe for concurrent use (stdout and stderr may be copied from two
// goroutines); readers may read the files at the same time.
type Writer struct {
	mu     sync.Mutex
	path   string
	opts   Options
	f      *os.File
	size   int64  // bytes in the live file, buf included
	buf    []byte // encoded entries not yet written
	stream [2]pending
	closed bool
	// tsFor and ts cache the last time formatted: the lines of one
	// Write, and the pieces of a line, share their time.
	tsFor time.Time
	ts    []byte
}

// pending is the unfinished line of one stream.
type pending struct {
	buf    []byte    // bytes of the line not yet written (< MaxLine)
	t      time.Time // when the line began: every piece of it gets this time
	inLine bool      // a line has begun (buffered, or pieces written)
}

// streams are the two stream names, indexed as Writer.stream.
var streams = [2]string{"stdout", "stderr"}

// NewWriter opens (creating it if needed) the json-file log at path for
// appending. The directory must exist.
func NewWriter(path string, o Options) (*Writer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	f, size, err := openLive(path, false)
	if err != nil {
		return nil, err
	}
	return &Writer{path: path, opts: o, f: f, size: size}, nil
}

// openLive opens the live file for appending (emptied when trunc) and
// returns its size. A file left by a crash with a torn last line gets a
// '\n' first, so that the torn line does not swallow the next entry.
func openLive(path string, trunc bool) (*os.File, int64, error) {
	flags := os.O_RDWR | os.O_CREATE | os.O_APPEND
	if trunc {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, fileMode)
	if err != nil {
		return nil, 0, fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat log file %s: %w", path, err)
	}
	size := st.Size()
	if size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil && err != io.EOF {
			f.Close()
			return nil, 0, fmt.Errorf("read log file %s: %w", path, err)
		}
		if last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, 0, fmt.Errorf("repair log file %s: %w", path, err)
			}
			size++
		}
	}
	return f, size, nil
}

// Write logs p, output of stream ("stdout" or "stderr") received at t.
// Each complete line becomes one entry; an unfinished line waits for the
// rest (see MaxLine and Flush). Entries reach the file before Write
// returns.
func (w *Writer) Write(stream string, p []byte, t time.Time) error {
	var si int
	switch stream {
	case "stdout":
		si = 0
	case "stderr":
		si = 1
	default:
		return fmt.Errorf("log stream %q: must be stdout or stderr", stream)
	}
	if err := checkTime(t); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	ps := &w.stream[si]
	for len(p) > 0 {
		if !ps.inLine {
			ps.t, ps.inLine = t, true
		}
		room := MaxLine - len(ps.buf)
		n := min(len(p), room)
		if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
			// A line ends: written straight from p when nothing
			// of it was buffered.
			line := p[:i+1]
			if len(ps.buf) > 0 {
				ps.buf = append(ps.buf, line...)
				line = ps.buf
			}
			if err := w.entry(si, line, ps.t); err != nil {
				ps.buf, ps.inLine = ps.done(), false // the line is lost
				return err
			}
			ps.buf, ps.inLine = ps.done(), false
			p = p[i+1:]
			continue
		}
		if len(ps.buf) == 0 && n == MaxLine {
			// A whole piece in p: no copy.
			if err := w.entry(si, p[:n], ps.t); err != nil {
				return err
			}
			p = p[n:]
			continue
		}
		// The buffer grows as needed: most containers never leave a
		// long line unfinished, and an idle monitor should stay small.
		ps.buf = append(ps.buf, p[:n]...)
		p = p[n:]
		if len(ps.buf) == MaxLine {
			if err := w.entry(si, ps.buf, ps.t); err != nil {
				ps.buf, ps.inLine = ps.done(), false
				return err
			}
			ps.buf = ps.done()
		}
	}
	return w.flushBuf()
}

// entry encodes one entry into w.buf, rotating first when the entry would
// make the live file exceed MaxSize.
func (w *Writer) entry(si int, line []byte, t time.Time) error {
	if w.ts == nil || !t.Equal(w.tsFor) {
		w.tsFor, w.ts = t, appendTime(w.ts[:0], t)
	}
	start := len(w.buf)
	w.buf = appendEntryTime(w.buf, streams[si], line, w.ts)
	n := int64(len(w.buf) - start)
	if w.opts.MaxSize > 0 && w.size > 0 && w.size+n > w.opts.MaxSize {
		if err := w.write(w.buf[:start]); err != nil {
			w.buf = w.buf[:0]
			return err
		}
		w.buf = w.buf[:copy(w.buf, w.buf[start:])]
		if err := w.rotate(); err != nil {
			w.buf = w.buf[:0]
			return err
		}
	}
	w.size += n
	if len(w.buf) >= flushAt {
		return w.flushBuf()
	}
	return nil
}

// keepBuf is the largest buffer a Writer keeps between writes: enough for
// the usual output, while a burst's larger buffer goes back to the heap.
const keepBuf = 16 << 10

// flushBuf writes the encoded entries to the live file.
func (w *Writer) flushBuf() error {
	err := w.write(w.buf)
	w.buf = w.buf[:0]
	if cap(w.buf) > keepBuf {
		w.buf = nil
	}
	return err
}

// done empties the unfinished line's buffer, dropping a large one.
func (ps *pending) done() []byte {
	if cap(ps.buf) > keepBuf/4 {
		return nil
	}
	return ps.buf[:0]
}

// write appends b to the live file in one write.
func (w *Writer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := w.f.Write(b); err != nil {
		// The size counted what did not land; recount from the file.
		if st, serr := w.f.Stat(); serr == nil {
			w.size = st.Size()
		}
		return fmt.Errorf("write log file %s: %w", w.path, err)
	}
	return nil
}

// Flush writes the unfinished lines of both streams as entries without a
// '\n' (Docker's partial message), as at the container's exit.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	for si := range w.stream {
		ps := &w.stream[si]
		if len(ps.buf) > 0 {
			if err := w.entry(si, ps.buf, ps.t); err != nil {
				return err
			}
		}
		ps.buf, ps.inLine = ps.done(), false
	}
	return w.flushBuf()
}

// Close flushes unfinished lines and closes the file. Closing twice is
// not an error.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flushLocked()
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close log file %s: %w", w.path, cerr)
	}
	return err
}
