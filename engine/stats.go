package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Stats is one sample of a container's resource usage, from the
// runtime's `events --stats` (runc's format).
type Stats struct {
	CPUTotalNs  uint64 // CPU time used, all CPUs
	MemUsage    uint64
	MemLimit    uint64
	PidsCurrent uint64
	BlkRead     uint64
	BlkWrite    uint64
}

// runtimeStats is the part of runc's stats event berth reads.
type runtimeStats struct {
	Data struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Cache uint64 `json:"cache"`
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
		} `json:"pids"`
		Blkio struct {
			IoServiceBytesRecursive []struct {
				Op    string `json:"op"`
				Value uint64 `json:"value"`
			} `json:"ioServiceBytesRecursive"`
		} `json:"blkio"`
	} `json:"data"`
}

// Stats samples a running container's usage.
func (e *Engine) Stats(ctx context.Context, c *Container) (Stats, error) {
	out, err := exec.CommandContext(ctx, c.Runtime, "--root", e.runtimeRoot(c), "events", "--stats", c.ID).Output()
	if err != nil {
		return Stats{}, fmt.Errorf("stats of %s: %w", c.Name, err)
	}
	var rs runtimeStats
	if err := json.Unmarshal(out, &rs); err != nil {
		return Stats{}, fmt.Errorf("stats of %s: %w", c.Name, err)
	}
	d := rs.Data
	s := Stats{CPUTotalNs: d.CPU.Usage.Total, MemLimit: d.Memory.Usage.Limit, PidsCurrent: d.Pids.Current}
	// As Docker shows it: usage without the page cache.
	s.MemUsage = d.Memory.Usage.Usage
	if s.MemUsage > d.Memory.Cache {
		s.MemUsage -= d.Memory.Cache
	}
	for _, b := range d.Blkio.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			s.BlkRead += b.Value
		case "write":
			s.BlkWrite += b.Value
		}
	}
	return s, nil
}
