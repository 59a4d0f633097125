package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultPollInterval is how often a follower looks for new lines and
// rotation when ReadOptions gives no interval.
const DefaultPollInterval = 150 * time.Millisecond

// ReadOptions select and shape what Read hands out, as `docker logs`'
// flags do.
type ReadOptions struct {
	// Follow keeps reading lines as they are written, across rotation,
	// until ctx ends, StopWhen says so, or Until has passed.
	Follow bool
	// Since and Until keep the lines written in [Since, Until]; a zero
	// value does not limit.
	Since, Until time.Time
	// Tail hands out only the last Tail lines that pass the other
	// filters, counted across the rotated files: < 0 for all of them, 0
	// for none (with Follow: only new lines). The pieces of a line
	// cut at MaxLine count one each, as in Docker.
	Tail int
	// Timestamps prefixes each line with its time as `docker logs -t`
	// does (see AppendTimestamp).
	Timestamps bool
	// Stdout and Stderr select the streams; when neither is set both
	// are read.
	Stdout, Stderr bool
	// StopWhen, if set, is asked whenever a follower has caught up;
	// once it returns true the lines written meanwhile are read and Read
	// returns nil (the engine passes "the container has exited", so
	// that `logs -f` ends with the container).
	StopWhen func() bool
	// PollInterval is how often a follower checks the file when idle: 0
	// means DefaultPollInterval.
	PollInterval time.Duration
	// Logger receives debug records about skipped lines; nil means
	// slog.Default().
	Logger *slog.Logger
}

// reader is the state of one Read call.
type reader struct {
	ctx     context.Context
	path    string
	o       ReadOptions
	out     func(stream string, t time.Time, line []byte) error
	log     *slog.Logger
	e       entry
	scratch []byte
	lines   int // lines handled, to look at ctx now and then
}

// Read hands the lines of the json-file log at path to out, oldest
// first: the rotated files (path.N ... path.1), then path. line is the
// text as the container wrote it ('\n' included, except for the pieces of
// a cut line and an unfinished last line), prefixed with its time when
// o.Timestamps; it is valid only during the call. An error from out ends
// Read with that error. Lines that are not valid entries (a line torn by a
// crash, garbage) are skipped with a debug record. A log that does not
// exist yet is empty, or, with Follow, awaited. Following polls the file
// every PollInterval.
func Read(ctx context.Context, path string, o ReadOptions, out func(stream string, t time.Time, line []byte) error) error {
	if out == nil {
		return errors.New("read log: no output function")
	}
	if !o.Stdout && !o.Stderr {
		o.Stdout, o.Stderr = true, true
	}
	r := &reader{ctx: ctx, path: path, o: o, out: out, log: o.Logger}
	if r.log == nil {
		r.log = slog.Default()
	}
	files, _, err := openChain(path, nil)
	if err != nil {
		return fmt.Errorf("read log %s: %w", path, err)
	}
	var (
		cur *logFile
		lr  lineReader
	)
	defer func() {
		if cur != nil {
			cur.f.Close()
		}
	}()
	if len(files) > 0 {
		cur = &files[0]
		older := files[1:]
		err := r.catchUp(cur, older, &lr)
		closeFiles(older)
		if err != nil {
			return err
		}
	}
	if !o.Follow {
		return nil
	}
	return r.follow(cur, &lr)
}

// catchUp hands out what the files hold now (cur the newest, older newest
// first) and leaves lr positioned in cur where following goes on.
func (r *reader) catchUp(cur *logFile, older []logFile, lr *lineReader) error {
	st, err := cur.f.Stat()
	if err != nil {
		return fmt.Errorf("read log %s: %w", r.path, err)
	}
	if r.o.Tail >= 0 {
		// Stop at the last complete line: the writer may be in the
		// middle of the next one, which following will pick up.
		end, err := lastLineEnd(cur.f, st.Size())
		if err != nil {
			return fmt.Errorf("read log %s: %w", r.path, err)
		}
		*lr = lineReader{f: cur.f, off: end, limit: -1}
		return r.tail(cur, end, older)
	}
	for i := len(older) - 1; i >= 0; i-- {
		if err := r.readFile(older[i]); err != nil {
			return err
		}
	}
	// The live file up to its size now: a fast writer must not keep a
	// reader that does not follow going forever.
	*lr = lineReader{f: cur.f, limit: st.Size()}
	if err := r.drain(lr); err != nil {
		return err
	}
	lr.limit = -1
	return nil
}

// tail hands out the last r.o.Tail matching lines, reading the files
// backwards from their ends (cur up to end) and keeping only those lines.
func (r *reader) tail(cur *logFile, end int64, older []logFile) error {
	n := r.o.Tail
	if n == 0 {
		return nil
	}
	var got []entry // newest first
	collect := func(line []byte) bool {
		if err := decodeEntry(line, &r.e); err != nil {
			r.skip(line, err)
			return true
		}
		if r.match(&r.e) {
			e := r.e
			e.Log = bytes.Clone(e.Log) // r.e.Log is reused
			got = append(got, e)
		}
		return len(got) < n && r.ctx.Err() == nil
	}
	if err := scanBackward(cur.f, end, collect); err != nil {
		return fmt.Errorf("read log %s: %w", r.path, err)
	}
	for _, lf := range older {
		if len(got) >= n {
			break
		}
		st, err := lf.f.Stat()
		if err != nil {
			return fmt.Errorf("read log %s: %w", r.path, err)
		}
		if err := scanBackward(lf.f, st.Size(), collect); err != nil {
			return fmt.Errorf("read log %s: %w", r.path, err)
		}
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	for i := len(got) - 1; i >= 0; i-- {
		if err := r.emit(&got[i]); err != nil {
			return err
		}
	}
	return nil
}

// readFile hands out all lines of a finished (rotated) file.
func (r *reader) readFile(lf logFile) error {
	lr := lineReader{f: lf.f, limit: -1}
	if err := r.drain(&lr); err != nil {
		return err
	}
	r.finish(&lr)
	return nil
}

// finish reports what is left unread in a file no writer will complete.
func (r *reader) finish(lr *lineReader) {
	if lr.leftover() > 0 {
		r.log.Debug("log: skipped an unterminated last line", "path", r.path, "bytes", lr.leftover())
	}
}

// drain hands out the complete lines lr has now.
func (r *reader) drain(lr *lineReader) error {
	for {
		line, ok, err := lr.next()
		if err != nil {
			return fmt.Errorf("read log %s: %w", r.path, err)
		}
		if lr.skipped > 0 {
			r.log.Debug("log: skipped overlong lines", "path", r.path, "count", lr.skipped)
			lr.skipped = 0
		}
		if !ok {
			return nil
		}
		if err := r.handle(line); err != nil {
			return err
		}
	}
}

// handle decodes, filters and hands out one line.
func (r *reader) handle(line []byte) error {
	r.lines++
	if r.lines%1024 == 0 {
		if err := r.ctx.Err(); err != nil {
			return err
		}
	}
	if err := decodeEntry(line, &r.e); err != nil {
		r.skip(line, err)
		return nil
	}
	if !r.match(&r.e) {
		return nil
	}
	return r.emit(&r.e)
}

// skip logs a line that is not a valid entry.
func (r *reader) skip(line []byte, err error) {
	if len(line) > 64 {
		line = line[:64]
	}
	r.log.Debug("log: skipped a malformed line", "path", r.path, "line", string(line), "err", err)
}

// match applies the stream and time filters.
func (r *reader) match(e *entry) bool {
	if e.Stream == "stdout" && !r.o.Stdout || e.Stream == "stderr" && !r.o.Stderr {
		return false
	}
	if !r.o.Since.IsZero() && e.Time.Before(r.o.Since) {
		return false
	}
	if !r.o.Until.IsZero() && e.Time.After(r.o.Until) {
		return false
	}
	return true
}

// emit hands one entry to out.
func (r *reader) emit(e *entry) error {
	r.scratch = r.scratch[:0]
	if r.o.Timestamps {
		r.scratch = AppendTimestamp(r.scratch, e.Time)
	}
	r.scratch = append(r.scratch, e.Log...)
	return r.out(e.Stream, e.Time, r.scratch)
}

// closeFile closes one opened file of the log.
func closeFile(lf *logFile) {
	if lf != nil {
		lf.f.Close()
	}
}
