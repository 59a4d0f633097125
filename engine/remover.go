package engine

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"berth/engine/monitor"
)

// removerOf is the container's monitor, which runs its --rm removal (nil
// when it has none): the removal has ended, volumes and events included,
// when the monitor has.
func (e *Engine) removerOf(c *Container) *ProcessRef {
	if !e.monitorAlive(c) {
		// Gone already, or its pid is another process's now: waiting for
		// that one would hold `run --rm` up to its deadline.
		return nil
	}
	b, err := os.ReadFile(filepath.Join(e.runDir(c), monitor.PidFile))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return nil
	}
	if st := startTime(pid); st != 0 {
		return &ProcessRef{Pid: pid, Start: st}
	}
	return nil
}

// waitGone waits until p has ended, or deadline.
func (p *ProcessRef) waitGone(deadline time.Time) {
	for i := 0; p != nil && p.alive() && time.Now().Before(deadline); i++ {
		time.Sleep(pollStep(i))
	}
}
