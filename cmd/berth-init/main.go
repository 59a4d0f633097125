// Command berth-init is the minimal init `berth run --init` puts at PID 1
// (the role of Docker's tini): it runs the container's command as its
// child, forwards every signal it gets to it, reaps the zombies orphaned
// processes leave, and exits with the command's status.
//
//	berth-init -- COMMAND [ARG...]
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	"golang.org/x/sys/unix"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: berth-init -- COMMAND [ARG...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	sigs := make(chan os.Signal, 64)
	// Every signal but those Go needs for itself; SIGCHLD wakes the reaper.
	signal.Notify(sigs)
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-init: %v\n", err)
		return 127
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The command gets the terminal's foreground process group as it
	// would as PID 1, so that ^C reaches it.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true, Foreground: isTerminal(0), Ctty: 0}
	if !isTerminal(0) {
		cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "berth-init: %v\n", err)
		return 126
	}
	child := cmd.Process.Pid
	for sig := range sigs {
		s := sig.(unix.Signal)
		if s == unix.SIGURG { // the Go scheduler's, not the user's
			continue
		}
		if s != unix.SIGCHLD {
			_ = unix.Kill(-child, s)
			continue
		}
		// Reap everything that has exited; the command's status ends us.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid == child {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 0
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
