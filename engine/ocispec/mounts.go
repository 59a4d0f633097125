package ocispec

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planMounts parses -v, --mount and --tmpfs and adds anonymous volumes
// for the image's Volumes (and "-v /ctr") nothing else covers. Each given
// destination may be used once. It only parses.
func planMounts(o *Options) ([]MountSpec, error) {
	var given, anonymous []MountSpec
	used := map[string]string{}
	add := func(flag, raw string, m MountSpec) error {
		if prev, dup := used[m.Target]; dup {
			return fmt.Errorf("%s %s: Duplicate mount point: %s (also given by %s)", flag, raw, m.Target, prev)
		}
		used[m.Target] = flag + " " + raw
		given = append(given, m)
		return nil
	}
	for _, raw := range o.Binds {
		m, err := ParseBind(raw)
		if err != nil {
			return nil, fmt.Errorf("-v: %w", err)
		}
		if m.Type == "volume" && m.Source == "" {
			// Docker's CLI turns "-v /ctr" into an image-style volume.
			anonymous = append(anonymous, m)
			continue
		}
		if err := add("-v", raw, m); err != nil {
			return nil, err
		}
	}
	for _, raw := range o.Mounts {
		m, err := ParseMount(raw)
		if err != nil {
			return nil, err
		}
		if err := add("--mount", raw, m); err != nil {
			return nil, err
		}
	}
	for _, raw := range o.Tmpfs {
		m, err := ParseTmpfs(raw)
		if err != nil {
			return nil, err
		}
		if err := add("--tmpfs", raw, m); err != nil {
			return nil, err
		}
	}
	vols := make([]string, 0, len(o.Image.Volumes))
	for v := range o.Image.Volumes {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	for _, v := range vols {
		t, err := validTarget(v)
		if err != nil {
			return nil, fmt.Errorf("image Volumes %q: %w", v, err)
		}
		anonymous = append(anonymous, MountSpec{Type: "volume", Target: t})
	}
	for _, m := range anonymous {
		if _, covered := used[m.Target]; covered {
			continue
		}
		used[m.Target] = "volume"
		given = append(given, m)
	}
	return given, nil
}

// resolveMounts makes the planned mounts OCI mounts, resolving sources on
// the host: a missing -v source directory is created, o.Volume gives
// volumes' directories.
func resolveMounts(o *Options, given []MountSpec) ([]specs.Mount, error) {
	out := make([]specs.Mount, 0, len(given))
	for _, m := range given {
		sm, err := resolveMount(o, m)
		if err != nil {
			return nil, err
		}
		out = append(out, sm)
	}
	return out, nil
}

// resolveMount makes one parsed mount an OCI mount, as Docker's
// WithMounts writes it.
func resolveMount(o *Options, m MountSpec) (specs.Mount, error) {
	switch m.Type {
	case "tmpfs":
		return specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: m.Tmpfs}, nil
	case "volume":
		if o.Volume == nil {
			return specs.Mount{}, fmt.Errorf("volume for %s: volumes are not available (no volume store)", m.Target)
		}
		// Anonymous volumes are named by the store (name "").
		dir, err := o.Volume(m.Source, m.Target)
		if err != nil {
			return specs.Mount{}, fmt.Errorf("volume %q for %s: %w", m.Source, m.Target, err)
		}
		opts := []string{"rbind"}
		if m.ReadOnly {
			opts = append(opts, "rro")
		}
		return specs.Mount{Destination: m.Target, Type: "bind", Source: dir, Options: opts}, nil
	case "bind":
		if _, err := os.Stat(m.Source); err != nil {
			if !os.IsNotExist(err) {
				return specs.Mount{}, mountConfigErr("bind", err)
			}
			if !m.CreateSource {
				return specs.Mount{}, mountConfigErr("bind", fmt.Errorf("bind source path does not exist: %s", m.Source))
			}
			// -v creates a missing source directory, as Docker does.
			if err := os.MkdirAll(m.Source, 0o755); err != nil {
				return specs.Mount{}, fmt.Errorf("-v: create bind source %s: %w", m.Source, err)
			}
		}
		opts := []string{"rbind"}
		if m.NonRecursive {
			opts[0] = "bind"
		}
		if m.ReadOnly {
			if m.NonRecursive || m.ReadOnlyNonRecursive {
				opts = append(opts, "ro")
			} else {
				opts = append(opts, "rro")
			}
		}
		opts = append(opts, m.Propagation)
		return specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: opts}, nil
	}
	return specs.Mount{}, errors.New("mount type unknown: " + m.Type)
}

// mergeMounts puts the default mounts of s (minus those a user mount
// replaces, and all of /dev's when the user mounts /dev) before the user's
// mounts sorted parents first, as Docker does. With a read-only rootfs the
// default mounts that are not kernel or device filesystems become
// read-only too, but for /sys and the cgroup mount of a privileged
// container (confine made those writable).
func mergeMounts(s *specs.Spec, user []specs.Mount, readOnly, privileged bool) {
	mine := map[string]bool{}
	for _, m := range user {
		mine[m.Destination] = true
	}
	var out []specs.Mount
	for _, m := range s.Mounts {
		if mine[m.Destination] || (mine["/dev"] && strings.HasPrefix(m.Destination, "/dev/")) {
			continue
		}
		if readOnly {
			switch m.Destination {
			case "/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev":
			default:
				if privileged && (m.Destination == "/sys" || m.Type == "cgroup") {
					break
				}
				if !hasOption(m.Options, "ro") {
					m.Options = append(append([]string{}, m.Options...), "ro")
				}
			}
		}
		out = append(out, m)
	}
	sort.SliceStable(user, func(i, j int) bool { return depth(user[i].Destination) < depth(user[j].Destination) })
	s.Mounts = append(out, user...)
}

// depth counts the components of a clean absolute path.
func depth(p string) int {
	return strings.Count(path.Clean(p), "/")
}

func hasOption(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}
