package build

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	s := p.step("[stage-0 2/3] RUN x")
	s.Write([]byte("one\ntw"))
	s.Write([]byte("o\nlast"))
	s.done()
	p.step("[stage-0 3/3] COPY a /a").cached()
	p.step("[stage-0 4/4] RUN false").failed(errors.New("exit code: 1\nmore"))
	re := regexp.MustCompile(`^#1 \[stage-0 2/3\] RUN x
#1 \d+\.\d{3} one
#1 \d+\.\d{3} two
#1 \d+\.\d{3} last
#1 DONE \d+\.\ds
#2 \[stage-0 3/3\] COPY a /a
#2 CACHED
#3 \[stage-0 4/4\] RUN false
#3 ERROR: exit code: 1
$`)
	if !re.MatchString(b.String()) {
		t.Errorf("plain output:\n%s", b.String())
	}
}

func TestProgressTTY(t *testing.T) {
	var b bytes.Buffer
	p := NewTTYProgress(&b, 40)
	s := p.step("[stage-0 2/3] RUN a very long command line that does not fit")
	s.Write([]byte("output\n"))
	p.mu.Lock()
	p.render()
	p.mu.Unlock()
	live := b.String()
	if !strings.Contains(live, "   > output\n") || strings.Contains(live, "does not fit") {
		t.Errorf("live area:\n%q", live)
	}
	s.done()
	p.step("[stage-0 3/3] COPY a /a").cached()
	p.Close()
	out := b.String()
	final := regexp.MustCompile(`\x1b\[2A\x1b\[J=> \[stage-0 2/3\] RUN a very long command line that does not fit  \d+\.\ds\n=> CACHED \[stage-0 3/3\] COPY a /a\n`)
	if !final.MatchString(out) {
		t.Errorf("final view:\n%q", out)
	}
	p.Close() // twice is fine
}

// syncWriter serializes writes (strings.Builder is not safe for
// concurrent use; Progress writes under its own lock, this is belt and
// braces for the tests).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
