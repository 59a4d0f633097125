package initproc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/caps"
	"berth/runtime/console"
	"berth/runtime/seccompfilter"
	"berth/runtime/spec"
)

// defaultPath is used to find the program when process.env sets no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// process is a user process ready to be executed.
type process struct {
	path string
	args []string
	env  []string
	// seccomp is loaded by exec right before execve (noNewPrivileges set).
	seccomp *seccompfilter.Filter
}

// prepare applies everything of process except execve itself, in runc's
// order: descriptors, rlimits, ignored signals back to their default,
// terminal, keyring, cwd (when root may enter
// it), seccomp (without noNewPrivileges), bounding set, user, cwd (as the
// user), capabilities, umask, no_new_privs. Errors
// surface here, before create reports ready. With noNewPrivileges the
// seccomp filter is loaded by exec, as late as possible, so that as few
// system calls as possible run under it.
func prepare(cfg *Config, pty *os.File) (*process, error) {
	p := cfg.Process
	sets, err := caps.FromSpec(p.Capabilities, cfg.CapLastCap)
	if err != nil {
		return nil, err
	}
	filter := cfg.Seccomp
	// Only stdio and the preserved descriptors cross into the container
	// (CVE-2024-21626); everything else closes on execve. Done first: the
	// container's seccomp profile, loaded below, may not allow close_range.
	if err := unix.CloseRange(uint(3+cfg.PreserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mark descriptors close-on-exec: %w", err)
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return nil, err
	}
	// Before the seccomp filter, which may not allow rt_sigaction.
	if err := resetIgnoredSignals(); err != nil {
		return nil, err
	}
	if pty != nil {
		if err := console.MakeControlling(pty); err != nil {
			return nil, err
		}
		pty.Close()
	}
	if !cfg.NoNewKeyring {
		// A private session keyring; kernels or namespaces without keyrings
		// are not an error, as in runc.
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + cfg.ID); err != nil &&
			!errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EDQUOT) && !errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("join session keyring: %w", err)
		}
	}
	// Root-owned cwds are entered (and checked) before the seccomp filter,
	// which may forbid getcwd, and before switching user; others after.
	cwdErr := unix.Chdir(p.Cwd)
	if cwdErr == nil {
		if err := checkCwd(); err != nil {
			return nil, err
		}
	}
	// The persona and the labels before the seccomp filter, which may
	// restrict personality(2) (Docker's profile does).
	if cfg.Spec != nil && cfg.Spec.Linux != nil && cfg.Spec.Linux.Personality != nil {
		persona, err := spec.Personality(cfg.Spec.Linux.Personality)
		if err != nil {
			return nil, err
		}
		if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(persona), 0, 0); errno != 0 {
			return nil, fmt.Errorf("linux.personality: %w", errno)
		}
	}
	if err := cfg.LSM.ExecAttrs("/proc/thread-self/attr", p.ApparmorProfile, p.SelinuxLabel); err != nil {
		return nil, err
	}
	if filter != nil && !p.NoNewPrivileges {
		// Loading a filter without no_new_privs needs CAP_SYS_ADMIN: load
		// it before any capability is dropped, as runc does. It applies to
		// this thread, the one that execs.
		if err := filter.Load(); err != nil {
			return nil, fmt.Errorf("linux.seccomp: %w", err)
		}
		filter = nil
	}
	if p.Capabilities != nil {
		if err := caps.DropBounding(sets); err != nil {
			return nil, err
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("keep capabilities: %w", err)
	}
	if err := setUser(p.User); err != nil {
		return nil, err
	}
	if cwdErr != nil {
		if err := unix.Chdir(p.Cwd); err != nil {
			return nil, fmt.Errorf("process.cwd %s: %w", p.Cwd, err)
		}
		if err := checkCwd(); err != nil {
			return nil, err
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("clear keep capabilities: %w", err)
	}
	if p.Capabilities != nil {
		if err := caps.Apply(sets); err != nil {
			return nil, err
		}
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	env := withHome(p.Env, p.User.UID)
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, err
	}
	return &process{path: path, args: p.Args, env: env, seccomp: filter}, nil
}

// checkCwd refuses a working directory outside the container's root, such
// as one reached through a leaked descriptor (CVE-2024-21626).
func checkCwd() error {
	wd, err := unix.Getwd()
	if err != nil {
		return fmt.Errorf("process.cwd is outside the container: %w", err)
	}
	if !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd %q is outside the container", wd)
	}
	return nil
}

func (p *process) exec() error {
	if p.seccomp != nil {
		// Right before execve, on this locked thread: execve keeps the
		// filter and ends the Go runtime's other threads.
		if err := p.seccomp.Load(); err != nil {
			return fmt.Errorf("linux.seccomp: %w", err)
		}
	}
	err := unix.Exec(p.path, p.args, p.env)
	return fmt.Errorf("exec %s: %w", p.path, err)
}

// setUser switches the calling thread to the process user. The raw
// per-thread system calls are deliberate: this thread is the one that
// execs, and the others die with execve.
func setUser(u specs.User) error {
	gids := make([]uint32, len(u.AdditionalGids))
	copy(gids, u.AdditionalGids)
	if err := setgroups(gids); err != nil {
		return fmt.Errorf("process.user.additionalGids: %w", err)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("process.user.gid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("process.user.uid %d: %w", u.UID, e)
	}
	return nil
}

func setgroups(gids []uint32) error {
	var e unix.Errno
	if len(gids) > 0 {
		_, _, e = unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(unsafe.Pointer(&gids[0])), 0)
	} else {
		_, _, e = unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0)
	}
	if e == unix.EPERM && len(gids) == 0 {
		// setgroups is denied in some user namespaces; nothing to drop then.
		return nil
	}
	if e != 0 {
		return e
	}
	return nil
}

var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

func setRlimits(list []specs.POSIXRlimit) error {
	for _, r := range list {
		t, ok := rlimitTypes[r.Type]
		if !ok {
			return fmt.Errorf("process.rlimits: unknown type %q", r.Type)
		}
		lim := &unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(0, t, lim, nil); err != nil {
			return fmt.Errorf("process.rlimits %s (soft %d, hard %d): %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// lookPath finds the program as the container's shell would.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("exec: %q: %w", name, err)
		}
		return name, nil
	}
	path := defaultPath
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			path = e[5:]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

func executable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	if st.Mode&0o111 == 0 {
		return unix.EACCES
	}
	return nil
}
