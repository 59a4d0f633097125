package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
// files: its /etc layer's etc (etclayer.go), or its run directory (on the
// run root's tmpfs, as Podman keeps them), or, for a container of an
// older berth, its container directory.
func (e *Engine) etcDir(c *Container) string {
	if c.RunDir != "" {
		for _, d := range []string{filepath.Join(etcLayerDir(c), "etc"), c.RunDir} {
			if fi, err := os.Stat(filepath.Join(d, "hostname")); err == nil && fi.Size() > 0 {
				return d
			}
		}
	}
	return e.dir(c.ID)
}

// runDirBinds returns the binds of c's config.json whose sources are in
// its run directory (its /etc files), and its host name.
func (e *Engine) runDirBinds(c *Container) ([]specs.Mount, string, error) {
	path := filepath.Join(e.dir(c.ID), "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("container %s: %w", c.ID, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, "", fmt.Errorf("container %s: %s: %w", c.ID, path, err)
	}
	var out []specs.Mount
	for _, m := range s.Mounts {
		if _, ok := etcName(m.Destination); ok && c.RunDir != "" && strings.HasPrefix(m.Source, c.RunDir+"/") {
			out = append(out, m)
		}
	}
	return out, s.Hostname, nil
}

// ensureEtcFiles writes c's hostname, hosts and resolv.conf files again
// when its config binds them from its run directory and they are gone or
// empty (a reboot emptied the tmpfs; the /etc layer, made again by the
// mount, has them empty); start's network setup then rewrites hosts and
// resolv.conf as at every start.
func (e *Engine) ensureEtcFiles(c *Container) error {
	if c.RunDir == "" || e.etcDir(c) != e.dir(c.ID) {
		return nil
	}
	binds, host, err := e.runDirBinds(c)
	if err != nil || len(binds) == 0 {
		return err
	}
	dirs := map[string][]string{}
	for _, m := range binds {
		if fi, err := os.Stat(m.Source); err != nil || fi.Size() == 0 {
			d := filepath.Dir(m.Source)
			dirs[d] = append(dirs[d], filepath.Base(m.Source))
		}
	}
	hostNet := c.Net != nil && c.Net.Mode == NetModeHost
	for d, names := range dirs {
		if err := ocispec.WriteEtcFiles(d, host, hostNet, names); err != nil {
			return fmt.Errorf("container %s: %w", c.ID, err)
		}
	}
	return nil
}

// etcLayerNames are the /etc files c's config binds from its /etc layer;
// none for a container without one.
func (e *Engine) etcLayerNames(c *Container) ([]string, error) {
	if c.RunDir == "" {
		return nil, nil
	}
	binds, _, err := e.runDirBinds(c)
	var names []string
	for _, m := range binds {
		if strings.HasPrefix(m.Source, etcLayerDir(c)+"/") {
			names = append(names, filepath.Base(m.Source))
		}
	}
	return names, err
}
