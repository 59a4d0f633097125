package container

import (
	"os"

	"berth/runtime/spec"
)

// Run creates and starts a container. Detached, it returns once the
// process runs; otherwise it waits for it, relaying signals (and the
// terminal, when process.terminal is set without a console socket), deletes
// the container, and returns the exit code.
func Run(o CreateOptions, detach bool) (int, error) {
	var proxySide *os.File
	if !detach && o.ConsoleSocket == "" {
		if cfgWantsTerminal(o.Bundle) {
			a, b, err := socketPair()
			if err != nil {
				return -1, err
			}
			defer a.Close()
			defer b.Close()
			o.Console, proxySide = a, b
		}
	}
	var relay *signalRelay
	if !detach {
		// From here on a signal is held for the container, not fatal to
		// the runtime.
		relay = catchSignals()
		defer relay.stop()
	}
	st, err := Create(o)
	if err != nil {
		return -1, err
	}
	if o.Console != nil {
		o.Console.Close()
	}
	if err := Start(o.Root, o.ID); err != nil {
		_ = Delete(o.Root, o.ID, true)
		return -1, err
	}
	if detach {
		return 0, nil
	}
	code, err := waitForeground(st.Pid, proxySide, relay)
	if derr := Delete(o.Root, o.ID, true); err == nil {
		err = derr
	}
	return code, err
}

// cfgWantsTerminal reports whether the bundle's process asks for a
// terminal; errors are left for Create to report.
func cfgWantsTerminal(bundle string) bool {
	cfg, err := spec.Load(bundle)
	return err == nil && cfg.Process != nil && cfg.Process.Terminal
}
