package ship

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// ProgressMode says how a pull or push reports what it does.
type ProgressMode int

const (
	// ProgressLines prints a line per layer event, as Docker does when
	// its output is not a terminal.
	ProgressLines ProgressMode = iota
	// ProgressBars draws a bar per layer (a terminal).
	ProgressBars
	// ProgressQuiet prints nothing.
	ProgressQuiet
)

// Progress reports the layers of one pull or push. Bars are drawn only
// between Start and Wait.
type Progress struct {
	w    io.Writer
	mode ProgressMode
	mu   sync.Mutex // orders line output
	bars *mpb.Progress
}

// NewProgress reports to w in mode.
func NewProgress(w io.Writer, mode ProgressMode) *Progress {
	if w == nil {
		w = io.Discard
		mode = ProgressQuiet
	}
	return &Progress{w: w, mode: mode}
}

// Printf prints a message line (above the bars while they are drawn).
func (p *Progress) Printf(format string, args ...any) {
	if p == nil || p.mode == ProgressQuiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf(format, args...) + "\n"
	if p.bars != nil {
		_, _ = p.bars.Write([]byte(line))
		return
	}
	_, _ = io.WriteString(p.w, line)
}

// start begins drawing bars.
func (p *Progress) start() {
	if p == nil || p.mode != ProgressBars {
		return
	}
	p.mu.Lock()
	p.bars = mpb.New(mpb.WithOutput(p.w), mpb.WithWidth(50), mpb.WithAutoRefresh())
	p.mu.Unlock()
}

// wait ends the bars once each is done.
func (p *Progress) wait() {
	if p == nil {
		return
	}
	p.mu.Lock()
	bars := p.bars
	p.bars = nil
	p.mu.Unlock()
	if bars != nil {
		bars.Wait()
	}
}

// blobBar is the progress of one blob.
type blobBar interface {
	add(n int64)        // n more bytes moved
	resumed(off int64)  // off bytes were there from an earlier attempt
	verifying()         // all bytes in, checking the digest
	done(status string) // finished: "Download complete", "Already exists"
	status(status string)
}

// short is the 12 hex digits Docker names a layer by.
func short(d ocispec.Descriptor) string {
	h := d.Digest.Encoded()
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// blob returns the progress of d, starting with status.
func (p *Progress) blob(d ocispec.Descriptor, status string) blobBar {
	if p == nil || p.mode == ProgressQuiet {
		return nopBar{}
	}
	p.mu.Lock()
	bars := p.bars
	p.mu.Unlock()
	if bars == nil {
		b := &lineBar{p: p, id: short(d)}
		b.status(status)
		return b
	}
	b := &mpbBar{}
	b.st.Store(status)
	// Built with no total, so that reaching the size does not complete
	// the bar (and freeze its status) before done says how it ended.
	b.bar = bars.New(0,
		mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding(" ").Rbound("]"),
		mpb.PrependDecorators(decor.Name(short(d)+": "), decor.Any(func(decor.Statistics) string { return b.st.Load().(string) }, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.OnComplete(decor.Counters(decor.SizeB1024(0), "% .1f/% .1f"), "")),
		mpb.BarFillerClearOnComplete(),
	)
	b.bar.SetTotal(d.Size, false)
	return b
}

// nopBar reports nothing.
type nopBar struct{}

func (nopBar) add(int64)     {}
func (nopBar) resumed(int64) {}
func (nopBar) verifying()    {}
func (nopBar) done(string)   {}
func (nopBar) status(string) {}

// lineBar prints Docker's non-terminal lines: one per status change.
type lineBar struct {
	p    *Progress
	id   string
	last string
}

func (b *lineBar) add(int64) {}
func (b *lineBar) resumed(off int64) {
	if off > 0 { // 0: a retry from the start, nothing to say
		b.p.Printf("%s: Resuming from byte %d", b.id, off)
	}
}
func (b *lineBar) verifying()         { b.status("Verifying Checksum") }
func (b *lineBar) done(status string) { b.status(status) }
func (b *lineBar) status(status string) {
	// Docker prints no line for the start of a transfer, nor twice the same.
	if status == b.last || status == "Downloading" || status == "Pushing" {
		return
	}
	b.last = status
	b.p.Printf("%s: %s", b.id, status)
}

// mpbBar is a bar on a terminal.
type mpbBar struct {
	bar *mpb.Bar
	st  atomic.Value
}

func (b *mpbBar) add(n int64)          { b.bar.IncrInt64(n) }
func (b *mpbBar) resumed(off int64)    { b.bar.SetCurrent(off) }
func (b *mpbBar) verifying()           { b.st.Store("Verifying Checksum") }
func (b *mpbBar) status(status string) { b.st.Store(status) }
func (b *mpbBar) done(status string) {
	b.st.Store(status)
	b.bar.SetTotal(-1, true)
}
