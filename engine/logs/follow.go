package logs

import (
	"os"
	"time"
)

// follow hands out lines as they are appended to cur (nil: no file yet),
// moving to the next file when the writer rotates, until ctx ends or the
// stop condition holds and what was written meanwhile has been read.
func (r *reader) follow(cur *logFile, lr *lineReader) error {
	// cur is owned by Read's deferred close; files this loop moves to
	// are closed here.
	first := cur
	defer func() {
		if cur != first {
			closeFile(cur)
		}
	}()
	poll := r.o.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	stopping := false
	for {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if cur != nil {
			if err := r.drain(lr); err != nil {
				return err
			}
		}
		next, err := r.moveOn(cur, lr)
		if err != nil {
			return err
		}
		if next != nil {
			if cur != first {
				closeFile(cur)
			}
			cur = next
			continue
		}
		if cur != nil {
			r.checkTruncated(cur, lr)
		}
		if stopping {
			return nil
		}
		if r.stop() {
			// Read once more what was written up to now.
			stopping = true
			continue
		}
		select {
		case <-r.ctx.Done():
			return r.ctx.Err()
		case <-tick.C:
		}
	}
}

// stop reports whether following should end.
func (r *reader) stop() bool {
	if r.o.StopWhen != nil && r.o.StopWhen() {
		return true
	}
	// Nothing written from now on can be at or before Until.
	return !r.o.Until.IsZero() && time.Now().After(r.o.Until)
}

// moveOn looks whether the writer has moved to a new live file. If so it
// finishes cur, hands out the whole of any file written in between
// (several rotations during one poll) and returns the new live file, lr
// positioned at its start; otherwise it returns nil.
func (r *reader) moveOn(cur *logFile, lr *lineReader) (*logFile, error) {
	st, err := os.Stat(r.path)
	if err != nil {
		// Not there: not created yet, or between unlink and create.
		return nil, nil
	}
	var stop os.FileInfo
	if cur != nil {
		if os.SameFile(st, cur.fi) {
			return nil, nil
		}
		// The writer renamed cur away before it made the new file:
		// cur is complete now.
		if err := r.drain(lr); err != nil {
			return nil, err
		}
		r.finish(lr)
		stop = cur.fi
	}
	files, found, err := openNewer(r.path, stop)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, nil
	}
	if stop != nil && !found && len(files) > 1 {
		// cur was rotated out of the chain: the files between it
		// and what is left are gone.
		r.log.Debug("log: followed file rotated away, lines may be missing", "path", r.path)
	}
	for i := len(files) - 1; i >= 1; i-- {
		if err := r.readFile(files[i]); err != nil {
			closeFiles(files)
			return nil, err
		}
	}
	closeFiles(files[1:])
	next := files[0]
	lr.f = next.f
	lr.limit = -1
	lr.reset(0)
	return &next, nil
}

// checkTruncated starts cur over when it has shrunk under the reader (a
// truncation in place by someone else: the Writer never does that).
func (r *reader) checkTruncated(cur *logFile, lr *lineReader) {
	st, err := cur.f.Stat()
	if err == nil && st.Size() < lr.off {
		r.log.Debug("log: file truncated, reading it from its start", "path", r.path)
		lr.reset(0)
	}
}
