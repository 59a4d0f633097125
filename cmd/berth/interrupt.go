package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
)

// interruptContext is cancelled by one of its signals (SIGINT and
// SIGTERM for berth's commands), as signal.NotifyContext's context is, but
// it takes the signals only once something asks for its Done channel,
// directly or by deriving a context from it. os/signal costs a process
// two threads (the one that keeps the signal mask and its receiving
// loop's), about half a millisecond of a `berth run -d` (alternate rounds:
// 18.2 -> 17.5 ms median), which never waits on its context. A command
// that never looks at its context dies of the signal, as a command may at
// any point (docs/engine.md, "A killed berth"); with the
// handlers taken it ran on to its end instead.
type interruptContext struct {
	context.Context
	cancel  context.CancelFunc
	signals []os.Signal
	// once installs the handlers, or (close) makes sure they never are.
	once sync.Once
	ch   chan os.Signal
}

// newInterruptContext returns a context cancelled by any of signals once
// its Done channel is asked for, and the function that releases it.
func newInterruptContext(parent context.Context, signals ...os.Signal) (*interruptContext, func()) {
	ctx, cancel := context.WithCancel(parent)
	c := &interruptContext{Context: ctx, cancel: cancel, signals: signals}
	return c, c.close
}

// Done takes the signals, the first time, and returns the context's Done
// channel.
func (c *interruptContext) Done() <-chan struct{} {
	c.once.Do(func() {
		c.ch = make(chan os.Signal, 1)
		signal.Notify(c.ch, c.signals...)
		go func() {
			select {
			case <-c.ch:
				c.cancel()
			case <-c.Context.Done():
			}
		}()
	})
	return c.Context.Done()
}

// close gives the signals back their default action, if they were taken,
// and cancels the context.
func (c *interruptContext) close() {
	c.once.Do(func() {}) // from here on Done takes nothing
	if c.ch != nil {
		signal.Stop(c.ch)
	}
	c.cancel()
}
