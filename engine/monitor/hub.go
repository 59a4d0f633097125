package monitor

import (
	"net"
	"sync"
)

// hub fans the container's output out to the attached clients.
type hub struct {
	mu      sync.Mutex
	clients map[*client]bool
}

// client is one attached connection; out is drained by its writer
// goroutine, so a slow client never blocks the container's output (its
// frames are dropped once 256 are queued, and it is disconnected).
type client struct {
	conn net.Conn
	out  chan frame
}

type frame struct {
	kind byte
	data []byte
}

func newHub() *hub { return &hub{clients: map[*client]bool{}} }

func (h *hub) add(conn net.Conn) *client {
	c := &client{conn: conn, out: make(chan frame, 256)}
	h.mu.Lock()
	h.clients[c] = true
	h.mu.Unlock()
	go func() {
		for f := range c.out {
			if WriteFrame(conn, f.kind, f.data) != nil {
				break
			}
		}
		conn.Close()
	}()
	return c
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	if h.clients[c] {
		delete(h.clients, c)
		close(c.out)
	}
	h.mu.Unlock()
}

// send queues a frame for every client.
func (h *hub) send(kind byte, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.out <- frame{kind, data}:
		default:
			delete(h.clients, c)
			close(c.out)
		}
	}
}

// closeAll ends every client after the frames already queued.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		delete(h.clients, c)
		close(c.out)
	}
}
