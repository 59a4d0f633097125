package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/engine/ocispec"
)

// etcName is the file create writes for the container's /etc/hostname,
// /etc/hosts or /etc/resolv.conf (unless the user mounts over them).
func etcName(dest string) (string, bool) {
	switch dest {
	case "/etc/hostname", "/etc/hosts", "/etc/resolv.conf":
		return filepath.Base(dest), true
	}
	return "", false
}

// etcDir is the directory that holds c's hostname, hosts and resolv.conf
// files: its run directory (on the run root's tmpfs: no inode to allocate
// on the disk for each, and as Podman keeps them), or, for a container of
// an older berth, its container directory.
func (e *Engine) etcDir(c *Container) string {
	if c.RunDir != "" {
		if _, err := os.Stat(filepath.Join(c.RunDir, "hostname")); err == nil {
			return c.RunDir
		}
	}
	return e.dir(c.ID)
}

// ensureEtcFiles writes c's hostname, hosts and resolv.conf files again
// when its config binds them from its run directory and they are gone (a
// reboot emptied the tmpfs); start's network setup then rewrites hosts
// and resolv.conf as at every start.
func (e *Engine) ensureEtcFiles(c *Container) error {
	if c.RunDir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(c.RunDir, "hostname")); err == nil {
		return nil
	}
	path := filepath.Join(e.dir(c.ID), "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("container %s: %s: %w", c.ID, path, err)
	}
	var names []string
	for _, m := range s.Mounts {
		if n, ok := etcName(m.Destination); ok && m.Source == filepath.Join(c.RunDir, n) {
			if _, err := os.Stat(m.Source); os.IsNotExist(err) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	hostNet := c.Net != nil && c.Net.Mode == NetModeHost
	if err := ocispec.WriteEtcFiles(c.RunDir, s.Hostname, hostNet, names); err != nil {
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	return nil
}
