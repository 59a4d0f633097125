package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"berth/engine/events"
	"berth/engine/monitor"
)

// Start starts a created or exited container through a new monitor.
// attach, if set, is called once the container exists and before its
// process runs, with a connection to the monitor's attach socket, so that
// no output is missed; Start returns once the process runs.
func (e *Engine) Start(ctx context.Context, ref string, attach func(net.Conn) error) (*Container, error) {
	// The monitor run's Create started (run passes the ID), if it did:
	// ended here unless the start gets to its handshake.
	mon, prestarted := e.unsaved.monitor(ref)
	defer func() {
		if mon != nil {
			mon.abort()
		}
	}()
	var (
		c      *Container
		unlock func()
		err    error
	)
	if e.unsaved.has(ref) {
		// run's own container, named by its ID: locked and read once.
		c = &Container{ID: ref, Name: ref}
		unlock, err = e.lockExisting(c)
	} else {
		c, unlock, err = e.lookupLocked(ctx, ref)
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.State.Running || c.State.Restarting {
		return c, nil
	}
	rd := e.runDir(c)
	_ = os.Remove(filepath.Join(e.dir(c.ID), monitor.ExitFile))
	for _, f := range []string{monitor.RunFile, monitor.StopRequested, monitor.InitPidFile} {
		_ = os.Remove(filepath.Join(rd, f))
	}
	// Gone after a reboot, with the tmpfs it was on.
	if err := os.MkdirAll(rd, 0o700); err != nil {
		return nil, err
	}
	// A stale runtime container (a monitor killed before it deleted it).
	e.runtimeDelete(c)
	if err := e.ensureMounted(ctx, c); err != nil {
		return nil, err
	}
	if err := e.ensureEtcFiles(c); err != nil {
		return nil, err
	}
	if err := e.startNetwork(c); err != nil {
		return nil, err
	}
	if !prestarted {
		if mon, err = e.launchMonitor(e.monitorConfig(c)); err != nil {
			e.stopNetwork(c)
			return nil, err
		}
	}
	// A foreground run --rm removes the container itself (selfremove.go).
	removeSelf := c.AutoRemove && attach != nil && e.unsaved.has(c.ID)
	attach = e.withAttachEvent(c, attach)
	started := mon
	mon = nil // the handshake ends it, if it must
	// The record says running once the go-ahead is sent: its commit (two
	// syncs) overlaps the process's start rather than follow it, and the
	// start returns once the process runs, as before. Only the fields
	// Start owns: a rename meanwhile must stay. Should the start fail, the
	// state is put back. (The status "running" outlives the monitor's
	// files on the tmpfs: after a reboot it tells a container that ran
	// from one never started, refresh.)
	var (
		created   createdFields
		unsaved   bool
		recorded  chan startRecord
		startedAt time.Time
	)
	goAheadSent := func() {
		created, unsaved = e.unsaved.take(c.ID)
		startedAt = time.Now().UTC()
		recorded = make(chan startRecord, 1)
		go func() {
			var r startRecord
			r.cur, r.err = e.modify(c.ID, func(cur *Container) error {
				r.before = cur.State
				r.pending = cur.Pending
				if unsaved {
					created.apply(cur)
				}
				cur.State.Paused, cur.Pending = false, nil
				cur.State.Status, cur.State.StartedAt = StatusRunning, startedAt
				return nil
			})
			recorded <- r
		}()
	}
	pid, err := e.startMonitor(c, started, attach, removeSelf, goAheadSent)
	var rec startRecord
	if recorded != nil {
		rec = <-recorded
	}
	if err != nil {
		if recorded != nil && rec.err == nil {
			_, _ = e.modify(c.ID, func(cur *Container) error {
				cur.State, cur.Pending = rec.before, rec.pending
				return nil
			})
		}
		e.stopNetwork(c)
		return nil, err
	}
	if rec.err != nil {
		return nil, rec.err
	}
	if unsaved {
		created.apply(c)
	}
	c.Name, c.State.Paused, c.Pending = rec.cur.Name, false, nil
	c.State.StartedAt = startedAt
	c.State.Pid, c.State.Running, c.State.Status = pid, true, StatusRunning
	return c, nil
}

// startRecord is Start's change to the record: the record after it, and
// the state it had before.
type startRecord struct {
	cur     *Container
	before  State
	pending *ProcessRef
	err     error
}

// monitorConfig is the command line of c's monitor.
func (e *Engine) monitorConfig(c *Container) monitor.Config {
	cfg := monitor.Config{
		ID: c.ID, Dir: e.dir(c.ID), RunDir: e.runDir(c), Runtime: c.Runtime, RuntimeRoot: e.runtimeRoot(c),
		TTY: c.TTY, OpenStdin: c.OpenStdin, LogMaxSize: c.LogMaxSize, LogMaxFiles: c.LogMaxFiles,
		Restart: c.Restart.Name, MaxRetries: c.Restart.MaximumRetryCount,
		EventsLog: filepath.Join(e.root, events.LogFile), Name: strings.TrimPrefix(c.Name, "/"),
		Image: c.Image, Labels: c.Labels,
		// Only berth-runtime waits for a go-ahead (runc and crun do not).
		Prestart: filepath.Base(c.Runtime) == "berth-runtime",
	}
	if c.AutoRemove {
		cfg.ExitCommand = e.selfCommand()
		if c.Snapshotter != "" {
			// The rootfs is in the snapshotter it was made with.
			cfg.ExitCommand = append(cfg.ExitCommand, "--snapshotter", c.Snapshotter)
		}
		cfg.ExitCommand = append(cfg.ExitCommand, "rm", "--force", "--volumes")
	} else if c.Net.managed() {
		cfg.ExitCommand = e.netExitCommand()
	}
	return cfg
}

// monitorProc is a monitor started, before its start handshake.
type monitorProc struct {
	// mu guards pidfd, which names the monitor until it is reaped (and is
	// then closed, -1): a signal through it cannot reach a process that
	// reused the monitor's pid.
	mu    sync.Mutex
	pidfd int
	// sync is the engine's end of the handshake, r reads it.
	sync *os.File
	r    *bufio.Reader
	// done is closed once the monitor has exited and been reaped.
	done chan struct{}
}

// launchMonitor runs berth-monitor (cfg on its command line) in its own
// session; it then waits for the start handshake (startMonitor). Started
// with syscall.ForkExec and a pidfd of its own asking: os/exec's first
// start in a process forks a throwaway child to probe for pidfds, which
// costs `berth run` most of a millisecond.
func (e *Engine) launchMonitor(cfg monitor.Config) (*monitorProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	// Ours non-blocking, so that its reads wait in Go's poller rather than
	// hold a thread each (a thread costs `run -d` about 0.1 ms to make and
	// end); blocking, should that fail, it works as well. The monitor's
	// stays blocking.
	_ = unix.SetNonblock(fds[0], true)
	ours := os.NewFile(uintptr(fds[0]), "monitor handshake")
	theirs := os.NewFile(uintptr(fds[1]), "monitor handshake (monitor)")
	defer theirs.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		ours.Close()
		return nil, err
	}
	defer devnull.Close()
	pidfd := -1
	dn := devnull.Fd()
	_, err = syscall.ForkExec(e.monitor, cfg.Args(), &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{dn, dn, dn, theirs.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd},
	})
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("start the monitor %s: %w", e.monitor, err)
	}
	m := &monitorProc{pidfd: pidfd, sync: ours, r: bufio.NewReader(ours), done: make(chan struct{})}
	// Reap it in the background if this command lives that long; it is
	// its own session, and outlives us otherwise. The pidfd, non-blocking,
	// turns readable when the monitor exits: the wait is in Go's poller,
	// not a thread blocked in waitid (as it is should that fail).
	_ = unix.SetNonblock(pidfd, true)
	pf := os.NewFile(uintptr(pidfd), "monitor pidfd")
	go func() {
		reap(pf)
		m.mu.Lock()
		pf.Close()
		m.pidfd = -1
		m.mu.Unlock()
		close(m.done)
	}()
	return m, nil
}

// abort ends a monitor before its start: it has started nothing. It may
// be called again.
func (m *monitorProc) abort() {
	m.mu.Lock()
	if m.pidfd >= 0 {
		_ = unix.PidfdSendSignal(m.pidfd, unix.SIGKILL, nil, 0)
	}
	m.mu.Unlock()
	m.sync.Close()
	<-m.done
}

// startMonitor goes through a launched monitor's start handshake
// (cmd/berth-monitor):
//
//	monitor -> engine  "C <pid>\n"  created (a terminal's container: its size is set
//	                               before it starts); "C 0\n" ready: without a
//	                               terminal the runtime's `run --detach` creates and
//	                               starts it after the go-ahead; or "E <message>\n"
//	engine  -> monitor "S\n"        start it (the engine attached first, if it wanted)
//	               or "S <pid>\n"  the same, and engine process pid removes the container
//	                               once it exits: the exit command waits for it (removeSelf)
//	monitor -> engine  "R <pid>\n"  running; or "E <message>\n"
//	engine  -> monitor "D\n"        after "S <pid>": the engine removed the container
//	                               (its end without "D": the exit command removes it)
func (e *Engine) startMonitor(c *Container, m *monitorProc, attach func(net.Conn) error, removeSelf bool, goAheadSent func()) (int, error) {
	ours, r, done := m.sync, m.r, m.done
	// A removal this process takes (removeSelf) keeps ours: its "D" (or
	// its end, if this process is killed) tells the monitor whether the
	// removal was done.
	kept := false
	defer func() {
		if !kept {
			ours.Close()
		}
	}()
	monLog := filepath.Join(e.runDir(c), monitor.MonitorLog)
	if _, err := readHandshake(r, 'C', monLog); err != nil {
		return 0, err
	}
	if attach != nil {
		conn, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
		if err != nil {
			return 0, fmt.Errorf("attach: %w", err)
		}
		if err := attach(conn); err != nil {
			conn.Close()
			return 0, err
		}
	}
	e.emitStart(c) // before the go-ahead, so that the monitor's die comes after it
	goAhead := "S\n"
	if removeSelf {
		goAhead = fmt.Sprintf("S %d\n", os.Getpid())
		// Before the go-ahead: the container may be gone soon after.
		e.removers.add(c.ID, removal{monitorDone: done, runtime: c.Runtime, sync: ours})
	}
	if _, err := ours.Write([]byte(goAhead)); err != nil {
		e.removers.drop(c.ID)
		return 0, fmt.Errorf("start: the monitor is gone: %w", err)
	}
	kept = removeSelf
	goAheadSent()
	// On an error the claim stays: the monitor waits for this process,
	// whose AwaitRemoval removes the container.
	return readHandshake(r, 'R', monLog)
}

// readHandshake reads "<want> <pid>" or "E <message>"; monLog is the
// monitor's own log, for the error should it end first.
func readHandshake(r *bufio.Reader, want byte, monLog string) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("the container's monitor ended before the container started (see %s)", monLog)
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "E ") {
		return 0, errors.New(line[2:])
	}
	if len(line) < 3 || line[0] != want {
		return 0, fmt.Errorf("monitor handshake: unexpected %q", line)
	}
	return strconv.Atoi(line[2:])
}

// ensureMounted mounts the container's rootfs if it is not (after a
// reboot, say).
func (e *Engine) ensureMounted(ctx context.Context, c *Container) error {
	rootfs := filepath.Join(e.dir(c.ID), "rootfs")
	if mounted(rootfs) {
		return nil
	}
	images, release, err := e.ImagesFor(ctx, c)
	if err != nil {
		return err
	}
	defer release()
	mounts, err := images.RootfsMounts(ctx, c.ID)
	if err != nil {
		return err
	}
	// After a reboot the /etc layer is made again (ensureEtcFiles then
	// fills its files).
	names, err := e.etcLayerNames(c)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		if mounts, _, err = withEtcLayer(c, mounts, names); err != nil {
			return err
		}
	}
	return mountRootfs(mounts, rootfs, c.AutoRemove)
}

// mounted tells whether dir is a mount point (a different device or
// mount ID than its parent).
func mounted(dir string) bool {
	var st, pst unix.Stat_t
	if unix.Stat(dir, &st) != nil || unix.Stat(filepath.Dir(dir), &pst) != nil {
		return false
	}
	if st.Dev != pst.Dev {
		return true
	}
	// Overlay and bind mounts may share the device number: ask mountinfo.
	b, err := os.ReadFile("/proc/self/mountinfo")
	return err == nil && strings.Contains(string(b), " "+dir+" ")
}
