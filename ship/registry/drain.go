package registry

import (
	"net/http"
	"sync"
	"time"
)

// drainGate counts the handlers running so that a stopping server can
// wait for them: http.Server.Shutdown stops waiting at its deadline and
// Close does not wait at all, yet the root's lock may be released (and gc
// let in) only once no handler can write to the storage.
type drainGate struct {
	mu     sync.RWMutex // held shared by each handler, exclusively to close
	closed bool
}

// wrap runs next under the gate; after close it answers 503.
func (g *drainGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.RLock()
		defer g.mu.RUnlock()
		if g.closed {
			writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "registry stopping")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// close waits up to timeout for the handlers running to end and refuses
// any later one; it reports whether they all ended.
func (g *drainGate) close(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
