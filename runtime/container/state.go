package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/cgroups"
)

// Sentinel errors callers can test with errors.Is.
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrExist      = errors.New("container already exists")
	ErrNotRunning = errors.New("container is not running")
	ErrRunning    = errors.New("container is running")
	ErrNotCreated = errors.New("container is not in created state")
)

const (
	stateFile = "state.json"
	fifoName  = "exec.fifo"
)

// State is what the runtime records about a container.
type State struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	Rootfs string `json:"rootfs"`
	// Pid is the container's init on the host (0 while creating).
	Pid int `json:"pid"`
	// PidStart is the init's start time in clock ticks, so a reused pid is
	// never mistaken for the container.
	PidStart uint64           `json:"pidStart"`
	Created  time.Time        `json:"created"`
	Owner    string           `json:"owner"`
	Config   *specs.Spec      `json:"config"`
	Cgroup   *cgroups.Manager `json:"cgroup,omitempty"`
	NoPivot  bool             `json:"noPivot,omitempty"`
	// HostMounts are the IDs of the mounts below the rootfs before create,
	// for a container without a mount namespace: delete removes the
	// others, the ones the container's setup made in the runtime's.
	HostMounts  []int             `json:"hostMounts,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	dir string
	// proxy is the runtime's end of a terminal Create made for a
	// foreground run (see CreateOptions.proxyTerminal).
	proxy *os.File
	// light says Config holds only hooks and namespaces (LoadLight).
	light bool
	// file is the version of the state file s was read from, if any.
	file fileVersion
}

// Dir is the container's state directory.
func (s *State) Dir() string { return s.dir }

func stateDir(root, id string) string { return filepath.Join(root, id) }

// Load reads the state of container id under root.
func Load(root, id string) (*State, error) { return load(root, id, false) }

// LoadLight is Load for the commands that never read the container's
// config beyond its hooks and namespaces (start, kill, delete, state):
// Config holds only those. Decoding the whole runtime-spec type tree costs
// a fresh process one to a few milliseconds, on every one of those calls.
// The State it returns cannot be saved.
func LoadLight(root, id string) (*State, error) { return load(root, id, true) }

// configView is the part of a config LoadLight decodes.
type configView struct {
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	Linux *struct {
		Namespaces []specs.LinuxNamespace `json:"namespaces,omitempty"`
	} `json:"linux,omitempty"`
}

// spec is the view as a (partial) config.
func (v *configView) spec() *specs.Spec {
	if v == nil {
		return nil
	}
	s := &specs.Spec{Hooks: v.Hooks}
	if v.Linux != nil {
		s.Linux = &specs.Linux{Namespaces: v.Linux.Namespaces}
	}
	return s
}

func load(root, id string, light bool) (*State, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir := stateDir(root, id)
	b, ver, err := readState(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); serr == nil {
			// A create that died before its first write: creating.
			return &State{ID: id, dir: dir}, nil
		}
		return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %q: %w", id, err)
	}
	var s State
	if light {
		// The outer config field hides State's own: only the view is
		// decoded.
		var v struct {
			*State
			Config *configView `json:"config"`
		}
		v.State = &s
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("parse state of %q: %w", id, err)
		}
		s.Config, s.light = v.Config.spec(), true
	} else if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse state of %q: %w", id, err)
	}
	s.dir, s.file = dir, ver
	return &s, nil
}

// fileVersion tells one state file from another: each write puts a new
// file in place (writeFileAtomic), which the old one still named when it
// was made, so its inode differs.
type fileVersion struct {
	ino, size int64
	mtime     unix.Timespec
}

func versionOf(st *unix.Stat_t) fileVersion {
	return fileVersion{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim}
}

// readState reads a state file and its version.
func readState(path string) ([]byte, fileVersion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileVersion{}, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fileVersion{}, err
	}
	// Sized from the stat, as os.ReadFile does: one read, one buffer.
	b := make([]byte, 0, st.Size+512)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, versionOf(&st), nil
		}
		if err != nil {
			return nil, fileVersion{}, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// unchanged reports whether the state file is still the one s was read
// from, so a command that read it before taking the lock need not read
// it again.
func (s *State) unchanged() bool {
	if s.file == (fileVersion{}) {
		return false
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(s.dir, stateFile), &st); err != nil {
		return false
	}
	return versionOf(&st) == s.file
}

// save writes the state atomically.
func (s *State) save() error {
	if s.light {
		return errors.New("encode state: loaded without its config (LoadLight)")
	}
	return s.saveWith(nil)
}

// saveWith is save with s.Config already encoded as config (nil: encode
// it here): create writes the state twice, and the config is most of it.
func (s *State) saveWith(config json.RawMessage) error {
	st, err := s.stage(config)
	if err != nil {
		return err
	}
	return st.commit()
}

// stage writes the state to a temporary file beside the state file; its
// commit puts it in place. Create stages its last write while init sets
// the container up, and only renames once init is ready.
func (s *State) stage(config json.RawMessage) (*staged, error) {
	if s.light {
		return nil, errors.New("encode state: loaded without its config (LoadLight)")
	}
	var b []byte
	var err error
	if config == nil {
		b, err = json.Marshal(s)
	} else {
		// The outer config field hides State's own.
		b, err = json.Marshal(struct {
			*State
			Config json.RawMessage `json:"config"`
		}{s, config})
	}
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return stageFile(filepath.Join(s.dir, stateFile), b, 0o600)
}

// writeFileAtomic replaces path with data: temp file, then rename, so a
// reader never sees half a file. No fsync: the state lives in /run and
// does not outlive a reboot, so durability would buy nothing but latency.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	st, err := stageFile(path, data, mode)
	if err != nil {
		return err
	}
	return st.commit()
}

// staged is a file written under a temporary name, to replace path.
type staged struct {
	tmp, path string
	done      bool
}

// stageFile writes data to a temporary file in path's directory.
func stageFile(path string, data []byte, mode os.FileMode) (*staged, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	st := &staged{tmp: tmp.Name(), path: path}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		st.discard()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		st.discard()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		st.discard()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return st, nil
}

// commit renames the file into place.
func (st *staged) commit() error {
	if err := os.Rename(st.tmp, st.path); err != nil {
		st.discard()
		return fmt.Errorf("write %s: %w", st.path, err)
	}
	st.done = true
	return nil
}

// discard removes the file unless it was committed; it may be called
// more than once.
func (st *staged) discard() {
	if st == nil || st.done {
		return
	}
	st.done = true
	_ = os.Remove(st.tmp)
}

// lock takes an exclusive lock on the container's state directory, so
// concurrent commands on one container are serialised.
func lockDir(dir string) (func(), error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// OCIState is the state JSON of the runtime spec, with runc's extra fields.
type OCIState struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	// OOMKilled says the kernel's OOM killer has killed a process of the
	// container (its cgroup's oom_kill count), as Docker's State.OOMKilled.
	OOMKilled bool `json:"oomKilled,omitempty"`
}

// OCI returns the state as `berth-runtime state` prints it.
func (s *State) OCI() OCIState {
	st := OCIState{
		State: specs.State{
			Version:     specs.Version,
			ID:          s.ID,
			Status:      s.Status(),
			Bundle:      s.Bundle,
			Annotations: s.Annotations,
		},
		Rootfs:  s.Rootfs,
		Created: s.Created,
		Owner:   s.Owner,
	}
	if st.Status != specs.StateStopped {
		st.Pid = s.Pid
	}
	if s.Cgroup != nil {
		n, err := s.Cgroup.OOMKillCount()
		st.OOMKilled = err == nil && n > 0
	}
	return st
}
