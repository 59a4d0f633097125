package container

// Run creates and starts a container. Detached, it returns once the
// process runs; otherwise it waits for it, relaying signals (and the
// terminal, when process.terminal is set without a console socket), deletes
// the container, and returns the exit code.
func Run(o CreateOptions, detach bool) (int, error) {
	if o.GoAhead != nil {
		defer o.GoAhead.Close()
	}
	o.proxyTerminal = !detach
	var relay *signalRelay
	if !detach {
		// From here on a signal is held for the container, not fatal to
		// the runtime.
		relay = catchSignals()
		defer relay.stop()
		o.beforeStart = relay.wait
	}
	// Started under the lock create took, from the state it made: no
	// other command comes in between, and the state is not read back.
	st, unlock, err := create(o)
	if err != nil {
		return -1, err
	}
	if st.proxy != nil {
		defer st.proxy.Close()
	}
	err = st.start()
	unlock()
	if err != nil {
		_ = Delete(o.Root, o.ID, true)
		return -1, err
	}
	if o.GoAhead != nil {
		tellRunning(o.GoAhead)
	}
	if detach {
		return 0, nil
	}
	code, err := waitForeground(st.Pid, st.proxy, relay)
	if derr := Delete(o.Root, o.ID, true); err == nil {
		err = derr
	}
	return code, err
}
