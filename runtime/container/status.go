package container

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Status works out the container's status from the live system, so it is
// right even after the runtime that created the container is gone:
// creating until init is recorded; created while init waits on the exec
// fifo; running once the fifo is consumed; stopped when init is gone.
func (s *State) Status() specs.ContainerState {
	if s.Pid == 0 {
		return specs.StateCreating
	}
	if !alive(s.Pid, s.PidStart) {
		return specs.StateStopped
	}
	if s.Cgroup != nil {
		if frozen, err := s.Cgroup.Frozen(); err == nil && frozen {
			return StatePaused
		}
	}
	if _, err := os.Lstat(filepath.Join(s.dir, fifoName)); err == nil {
		return specs.StateCreated
	}
	return specs.StateRunning
}

// StatePaused is runc's status of a container whose cgroup is frozen by
// pause; the runtime spec itself has no such status.
const StatePaused specs.ContainerState = "paused"

// procStat holds the fields of /proc/<pid>/stat the runtime uses.
type procStat struct {
	state     byte
	startTime uint64
}

// readStat parses /proc/<pid>/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); start time is field 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed stat: %d fields", len(f))
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed stat start time: %w", err)
	}
	return procStat{state: f[0][0], startTime: st}, nil
}

// alive reports whether pid is still the process that started at start and
// has not exited (a zombie counts as exited).
func alive(pid int, start uint64) bool {
	st, err := readStat(pid)
	if err != nil {
		return false
	}
	if st.state == 'Z' || st.state == 'X' {
		return false
	}
	return start == 0 || st.startTime == start
}
