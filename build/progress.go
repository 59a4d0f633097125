package build

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress prints the build's steps. Plain (BuildKit's plain format, for
// logs and pipes):
//
//	#3 [stage-0 2/4] RUN make
//	#3 0.412 compiling...
//	#3 DONE 1.2s
//	#4 [stage-0 3/4] COPY app /app
//	#4 CACHED
//
// TTY (a live view, redrawn ten times a second): finished steps stay as
// one line each ("=> [stage-0 2/4] RUN make  1.2s"), running ones show
// their time and last lines of output below them.
//
// It is safe for concurrent use by stages built in parallel.
type Progress struct {
	mu sync.Mutex
	w  io.Writer
	n  int

	tty     bool
	width   int
	active  []*stepLog
	pending []string // finished lines not printed yet
	drawn   int      // lines of the live area on the screen
	stop    chan struct{}
	stopped chan struct{}
}

// NewProgress prints plain lines to w (io.Discard for --quiet).
func NewProgress(w io.Writer) *Progress {
	if w == nil {
		w = io.Discard
	}
	return &Progress{w: w}
}

// NewTTYProgress draws a live view on the terminal w, width columns wide
// (0: 80); Close ends it.
func NewTTYProgress(w io.Writer, width int) *Progress {
	if width <= 0 {
		width = 80
	}
	p := &Progress{w: w, tty: true, width: width, stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.mu.Lock()
				p.render()
				p.mu.Unlock()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Close draws the live view a last time and stops redrawing.
func (p *Progress) Close() {
	if !p.tty {
		return
	}
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	p.render()
}

// render redraws the live area (under p.mu): finished lines above it,
// then each running step with its last output lines.
func (p *Progress) render() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn)
	}
	for _, l := range p.pending {
		b.WriteString(l + "\n")
	}
	p.pending = p.pending[:0]
	p.drawn = 0
	// Live lines are cut to the width: a wrapped line would make the
	// cursor-up count wrong.
	fit := func(l string) string {
		if r := []rune(l); len(r) > p.width-1 {
			return string(r[:p.width-1])
		}
		return l
	}
	for _, s := range p.active {
		b.WriteString(fit(fmt.Sprintf("=> %s  %.1fs", s.title, time.Since(s.start).Seconds())) + "\n")
		p.drawn++
		for _, l := range s.tail {
			b.WriteString(fit("   > "+l) + "\n")
			p.drawn++
		}
	}
	io.WriteString(p.w, b.String())
}

// step starts a numbered step and prints its title.
func (p *Progress) step(title string) *stepLog {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	s := &stepLog{p: p, n: p.n, title: title, start: time.Now()}
	if p.tty {
		p.active = append(p.active, s)
	} else {
		fmt.Fprintf(p.w, "#%d %s\n", p.n, title)
	}
	return s
}

// Printf prints a line outside any step.
func (p *Progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.pending = append(p.pending, fmt.Sprintf(format, args...))
		return
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// stepLog is one step's output: the lines a RUN prints, prefixed with the
// step number and the time since the step began.
type stepLog struct {
	p       *Progress
	n       int
	title   string
	start   time.Time
	mu      sync.Mutex
	partial string
	tail    []string // tty: the last lines, shown while the step runs
}

// line prints a line of the step (plain) or keeps it for the live view.
func (s *stepLog) line(text string) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.tty {
		s.tail = append(s.tail, text)
		if len(s.tail) > 5 {
			s.tail = s.tail[1:]
		}
		return
	}
	fmt.Fprintf(s.p.w, "#%d %s\n", s.n, text)
}

// Write prints the output of the step's command line by line.
func (s *stepLog) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	text := s.partial + string(b)
	lines := strings.Split(text, "\n")
	s.partial = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		s.output(strings.TrimSuffix(l, "\r"))
	}
	return len(b), nil
}

func (s *stepLog) output(l string) {
	if s.p.tty {
		s.line(l)
		return
	}
	s.line(fmt.Sprintf("%.3f %s", time.Since(s.start).Seconds(), l))
}

// flush prints a last line without a newline.
func (s *stepLog) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partial != "" {
		s.output(s.partial)
		s.partial = ""
	}
}

// finish ends the step: plain prints text as its last line; tty moves it
// out of the live area as one line (prefix before the title, suffix
// after).
func (s *stepLog) finish(text, prefix, suffix string) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if !s.p.tty {
		fmt.Fprintf(s.p.w, "#%d %s\n", s.n, text)
		return
	}
	for i, a := range s.p.active {
		if a == s {
			s.p.active = append(s.p.active[:i], s.p.active[i+1:]...)
			break
		}
	}
	s.p.pending = append(s.p.pending, "=> "+prefix+s.title+suffix)
}

func (s *stepLog) cached() { s.finish("CACHED", "CACHED ", "") }

func (s *stepLog) done() {
	s.flush()
	d := time.Since(s.start).Seconds()
	s.finish(fmt.Sprintf("DONE %.1fs", d), "", fmt.Sprintf("  %.1fs", d))
}

func (s *stepLog) failed(err error) {
	s.flush()
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	s.finish("ERROR: "+msg, "ERROR ", "")
}
