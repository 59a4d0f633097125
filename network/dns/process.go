package dns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Starter returns the command that runs a network's server (`berth
// dns-serve --network ID --root ROOT`), not yet started. Update sets its
// session, stdio and log file.
type Starter func() *exec.Cmd

// startTimeout bounds how long Update waits for a new server to listen.
const startTimeout = 5 * time.Second

// Update changes a network's records under dns.lock: fn gets the current
// records (a fresh Records when there is no file yet) and changes them; the
// result is written atomically. While any container is left, Update then
// makes sure a server runs, starting one with start if none does, and waits
// until it listens; a server whose records list no container exits by
// itself. The network's directory must exist.
func Update(ctx context.Context, root, id string, start Starter, fn func(*Records) error) error {
	dir, r, unlock, err := lockRecords(root, id)
	if err != nil {
		return err
	}
	defer unlock()
	if r == nil {
		r = &Records{Version: recordsFileVersion}
	}
	if err := fn(r); err != nil {
		return err
	}
	if err := writeRecords(dir, r); err != nil {
		return fmt.Errorf("dns records of network %.12s: %w", id, err)
	}
	if len(r.Containers) == 0 || start == nil {
		return nil
	}
	// Still under dns.lock: a server deciding to exit waits for it, so it
	// either sees these records or has released dns.pid already.
	return ensure(ctx, dir, start)
}

// Ensure starts the network's server if its records list a container and
// none runs (after a kill -9 of the server, or a reboot): the engine calls
// it when it starts a container on the network.
func Ensure(ctx context.Context, root, id string, start Starter) error {
	dir, r, unlock, err := lockRecords(root, id)
	if err != nil {
		return err
	}
	defer unlock()
	if r == nil || len(r.Containers) == 0 {
		return nil
	}
	return ensure(ctx, dir, start)
}

// lockRecords takes the network's dns.lock and reads its records (nil
// when there is no file yet); unlock releases the lock.
func lockRecords(root, id string) (dir string, r *Records, unlock func(), err error) {
	if dir, err = Dir(root, id); err != nil {
		return "", nil, nil, err
	}
	lock, err := flockFile(filepath.Join(dir, lockName), unix.LOCK_EX)
	if err != nil {
		return "", nil, nil, fmt.Errorf("dns records of network %.12s: %w", id, err)
	}
	r, err = ReadRecords(dir)
	if errors.Is(err, os.ErrNotExist) {
		r, err = nil, nil
	}
	if err != nil {
		lock.Close()
		return "", nil, nil, fmt.Errorf("dns records of network %.12s: %w", id, err)
	}
	return dir, r, func() { lock.Close() }, nil
}

// marshalRecords encodes r after checking it as the server will.
func marshalRecords(r *Records) ([]byte, error) {
	if r.Version == 0 {
		r.Version = recordsFileVersion
	}
	if _, err := Compile(r); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode records: %w", err)
	}
	return append(data, '\n'), nil
}

// Running returns the pid of the network's running server, or 0.
func Running(dir string) (int, error) {
	f, err := flockFile(filepath.Join(dir, pidName), unix.LOCK_SH|unix.LOCK_NB)
	if errors.Is(err, errWouldBlock) {
		data, rerr := os.ReadFile(filepath.Join(dir, pidName))
		if rerr != nil {
			return 0, fmt.Errorf("read dns server pid: %w", rerr)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return pid, nil // 0 while the server is starting
	}
	if err != nil {
		return 0, err
	}
	f.Close()
	return 0, nil
}

// ensure starts a server for the network in dir unless one runs, and waits
// until it listens (it writes its pid into dns.pid then).
func ensure(ctx context.Context, dir string, start Starter) error {
	pid, err := Running(dir)
	if err != nil {
		return err
	}
	if pid != 0 {
		return nil
	}
	cmd := start()
	logf, err := os.OpenFile(filepath.Join(dir, logName), os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("dns server log: %w", err)
	}
	defer logf.Close()
	if st, err := logf.Stat(); err == nil && st.Size() > 1<<20 {
		_ = logf.Truncate(0) // keep the log small; it is for diagnosis only
	}
	cmd.Stdin = nil
	if cmd.Dir == "" {
		cmd.Dir = "/" // hold no directory of the caller's busy
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own session: the server outlives the berth command that started
	// it and gets none of its terminal's signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dns server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			// It may have found another server holding dns.pid (started by
			// a berth that did not hold dns.lock): fine if one runs now.
			if pid, _ := Running(dir); pid != 0 {
				return nil
			}
			return fmt.Errorf("dns server exited at start (%v): %s", err, logTail(dir))
		case <-deadline.C:
			_ = cmd.Process.Signal(unix.SIGTERM)
			return fmt.Errorf("dns server did not listen within %v: %s", startTimeout, logTail(dir))
		case <-ctx.Done():
			_ = cmd.Process.Signal(unix.SIGTERM)
			return fmt.Errorf("start dns server: %w", ctx.Err())
		case <-tick.C:
			if pid, _ := Running(dir); pid == cmd.Process.Pid {
				return nil
			}
		}
	}
}

// logTail is the last line of the server's log, for errors.
func logTail(dir string) string {
	data, _ := os.ReadFile(filepath.Join(dir, logName))
	data = bytes.TrimSpace(data)
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[i+1:]
	}
	if len(data) > 500 {
		data = data[len(data)-500:]
	}
	return string(data)
}

// Stop ends the network's server, if one runs (SIGTERM, then waits up to
// timeout for it to release dns.pid), for `network rm` after the records
// file is removed, and for tests.
func Stop(root, id string, timeout time.Duration) error {
	dir, err := Dir(root, id)
	if err != nil {
		return err
	}
	pid, err := Running(dir)
	if err != nil || pid == 0 {
		return err
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil && err != unix.ESRCH {
		return fmt.Errorf("stop dns server %d: %w", pid, err)
	}
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if p, _ := Running(dir); p != pid {
			return nil
		}
	}
	return fmt.Errorf("dns server %d still runs after %v", pid, timeout)
}

// Remove deletes a network's records (under dns.lock, so that its server
// exits) and stops the server; for `network rm`.
func Remove(root, id string) error {
	dir, err := Dir(root, id)
	if err != nil {
		return err
	}
	lock, err := flockFile(filepath.Join(dir, lockName), unix.LOCK_EX)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(dir, recordsName))
	lock.Close()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove dns records: %w", err)
	}
	return Stop(root, id, 5*time.Second)
}
