package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// PollInterval is how often Follow looks for new lines and rotation.
const PollInterval = 50 * time.Millisecond

// Options select the events Follow delivers.
type Options struct {
	// Since and Until bound the events' times (zero: no bound). As
	// Docker's: with neither, only new events are delivered; without
	// Until, Follow follows until its context ends; with Until in the
	// past it delivers the past events and returns; with Until ahead it
	// follows until then.
	Since, Until time.Time
	Filter       Filter
	// Now is the time Until is compared with (time.Now when zero); for
	// tests.
	Now func() time.Time
}

// Follow calls fn for every event that matches o: first those in
// events.log.1 and events.log, then new ones as writers append them,
// across rotation. Lines that are not events are skipped. It returns
// when ctx ends (nil), Until passes (nil), or fn fails (its error).
func Follow(ctx context.Context, root string, o Options, fn func(Message) error) error {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	deliver := func(m Message) error {
		t := m.When()
		if (!o.Since.IsZero() && t.Before(o.Since)) || (!o.Until.IsZero() && t.After(o.Until)) {
			return nil
		}
		if !o.Filter.Match(m) {
			return nil
		}
		return fn(m)
	}
	old, cur, err := openPair(root)
	if err != nil {
		return err
	}
	// lastIno is the file read to its end last: events.log.1 when it
	// is another, is new to us.
	var lastIno uint64
	if o.Since.IsZero() && o.Until.IsZero() {
		// Only new events: skip the past ones. The size was taken under
		// the lock, so it ends a whole line.
		if old != nil {
			lastIno = old.ino
			old.close()
			old = nil
		}
		if cur != nil {
			if _, err := cur.f.Seek(cur.size, io.SeekStart); err != nil {
				cur.close()
				return fmt.Errorf("read the events log: %w", err)
			}
		}
	}
	if old != nil {
		lastIno = old.ino
		err = old.drain(deliver, true)
		old.close()
		if err != nil {
			if cur != nil {
				cur.close()
			}
			return err
		}
	}
	pastOnly := !o.Until.IsZero() && !o.Until.After(now())
	if cur != nil {
		err := cur.drain(deliver, pastOnly)
		if err != nil || pastOnly {
			cur.close()
			return err
		}
	}
	if pastOnly {
		return nil
	}
	defer func() {
		if cur != nil {
			cur.close()
		}
	}()
	var deadline <-chan time.Time
	if !o.Until.IsZero() {
		t := time.NewTimer(o.Until.Sub(now()))
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	path := filepath.Join(root, LogFile)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			// What came before the deadline and the last look.
			if cur != nil {
				return cur.drain(deliver, false)
			}
			return nil
		case <-tick.C:
		}
		if cur != nil {
			if err := cur.drain(deliver, false); err != nil {
				return err
			}
		}
		ino, ok := inode(path)
		if !ok || (cur != nil && ino == cur.ino) {
			continue
		}
		// Rotated (or created): what was appended before the rename is
		// in the file we hold; finish it, then take the new one.
		if cur != nil {
			lastIno = cur.ino
			err := cur.drain(deliver, true)
			cur.close()
			cur = nil
			if err != nil {
				return err
			}
		}
		mid, next, err := openPair(root)
		if err != nil {
			return err
		}
		// Rotated twice since the last look (or made and rotated while
		// there was none): events.log.1 is the file in between, whole.
		if mid != nil && mid.ino != lastIno {
			lastIno = mid.ino
			err = mid.drain(deliver, true)
		}
		if mid != nil {
			mid.close()
		}
		cur = next
		if err != nil {
			return err
		}
		if cur != nil {
			if err := cur.drain(deliver, false); err != nil {
				return err
			}
		}
	}
}

// openPair opens events.log.1 and events.log (either may be missing:
// nil) under the shared lock, so that no rotation happens in between.
func openPair(root string) (*tail, *tail, error) {
	unlock, err := lock(root, unix.LOCK_SH)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	old, err := openTail(filepath.Join(root, RotatedFile))
	if err != nil {
		return nil, nil, err
	}
	cur, err := openTail(filepath.Join(root, LogFile))
	if err != nil {
		if old != nil {
			old.close()
		}
		return nil, nil, err
	}
	return old, cur, nil
}

// tail reads one events file from where it left off.
type tail struct {
	f    *os.File
	ino  uint64
	size int64 // when opened
	// pending is the start of a line whose end has not been written yet;
	// skipping says the current line is longer than MaxLine and is being
	// discarded up to its newline.
	pending  []byte
	skipping bool
	buf      []byte
}

// openTail opens path for reading; a missing file is nil, no error.
func openTail(path string) (*tail, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the events log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open the events log: %w", err)
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	return &tail{f: f, ino: ino, size: st.Size(), buf: make([]byte, 64<<10)}, nil
}

func (t *tail) close() { t.f.Close() }

// drain delivers every complete line up to the end of the file. final
// says no more will be written to it: a partial last line is torn, and
// dropped.
func (t *tail) drain(deliver func(Message) error, final bool) error {
	for {
		n, err := t.f.Read(t.buf)
		if n > 0 {
			if derr := t.lines(t.buf[:n], deliver); derr != nil {
				return derr
			}
		}
		if err == io.EOF || n == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("read the events log: %w", err)
		}
	}
	if final {
		if len(t.pending) > 0 {
			slog.Debug("events: dropping a torn last line", "file", t.f.Name(), "bytes", len(t.pending))
		}
		t.pending, t.skipping = nil, false
	}
	return nil
}

// lines splits data into lines, joined to what was pending.
func (t *tail) lines(data []byte, deliver func(Message) error) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !t.skipping {
				t.pending = append(t.pending, data...)
				if len(t.pending) > MaxLine {
					t.pending, t.skipping = nil, true
				}
			}
			return nil
		}
		line := data[:i]
		data = data[i+1:]
		if t.skipping {
			t.skipping = false
			continue
		}
		if len(t.pending) > 0 {
			line = append(t.pending, line...)
			t.pending = nil
		}
		m, err := Parse(line)
		if err != nil {
			slog.Debug("events: skipping a line that is not an event", "file", t.f.Name(), "error", err)
			continue
		}
		if err := deliver(m); err != nil {
			return err
		}
	}
	return nil
}

// inode is path's inode number, ok false if it does not exist.
func inode(path string) (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}
