package main

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// terminalSize is the size of the terminal berth runs on (stdout's, as
// Docker's CLI takes, else stdin's), or zeros.
func terminalSize() (rows, cols uint) {
	for _, f := range []*os.File{os.Stdout, os.Stdin} {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 && ws.Col > 0 {
			return uint(ws.Row), uint(ws.Col)
		}
	}
	return 0, 0
}

// checkTTY refuses, as Docker's CLI, to attach a terminal's input when
// stdin is not a terminal (raw mode and the detach keys need one).
func checkTTY(stdin, tty bool) error {
	if stdin && tty && !term.IsTerminal(int(os.Stdin.Fd())) {
		return statusError{1, errors.New("the input device is not a TTY")}
	}
	return nil
}
