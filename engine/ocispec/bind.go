package ocispec

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// MountSpec is one parsed -v, --mount or --tmpfs value, validated as
// Docker validates it but not yet resolved on the host (a bind's source
// is not checked, a volume not created).
type MountSpec struct {
	// Type is "bind", "volume" or "tmpfs".
	Type string
	// Source is the host path of a bind, the name of a volume ("" for an
	// anonymous one); empty for tmpfs.
	Source string
	// Target is the absolute, cleaned path in the container.
	Target   string
	ReadOnly bool
	// Propagation of a bind ("rprivate" unless asked otherwise).
	Propagation string
	// NonRecursive binds only the source, not the mounts under it
	// (bind-recursive=disabled).
	NonRecursive bool
	// ReadOnlyNonRecursive makes only the top of a read-only bind
	// read-only (bind-recursive=writable); the default is recursive.
	ReadOnlyNonRecursive bool
	// NoCopy asks not to fill a new volume from the image (nocopy).
	NoCopy bool
	// CreateSource: a missing bind source is created (-v does, --mount
	// does not).
	CreateSource bool
	// Tmpfs are the tmpfs options after Docker's defaults (size=, mode=,
	// and flags), merged.
	Tmpfs []string
}

// volumeName is what the local volume driver accepts as a name (Docker's
// RestrictedNamePattern); it keeps the name a single path component.
var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ParseBind parses a -v value the way Docker's Linux parser does:
// "/ctr" (an anonymous volume), "src:/ctr" or "src:/ctr:mode", where src
// is an absolute host path (a bind; "." and "./x" are made absolute as
// Docker's CLI does) or a volume name, and mode is a comma list of at most
// one each of ro|rw, z|Z, nocopy, a propagation (private, rprivate,
// shared, rshared, slave, rslave) and a consistency (consistent, cached,
// delegated; ignored on Linux).
func ParseBind(raw string) (MountSpec, error) {
	invalid := func(why error) error {
		if why == nil {
			return fmt.Errorf("invalid volume specification: '%s'", raw)
		}
		return fmt.Errorf("invalid volume specification: '%s': %w", raw, why)
	}
	if strings.ContainsRune(raw, 0) {
		return MountSpec{}, invalid(errors.New("contains a NUL byte"))
	}
	arr := strings.SplitN(raw, ":", 4)
	if arr[0] == "" {
		return MountSpec{}, invalid(nil)
	}
	var m MountSpec
	var mode string
	switch len(arr) {
	case 1:
		m.Target = arr[0]
	case 2:
		if validBindMode(arr[1]) {
			// "/foo:rw" is a destination with a mode: volumes take none.
			return MountSpec{}, invalid(nil)
		}
		m.Source, m.Target = arr[0], arr[1]
	case 3:
		m.Source, m.Target, mode = arr[0], arr[1], arr[2]
	default:
		return MountSpec{}, invalid(nil)
	}
	if !validBindMode(mode) {
		return MountSpec{}, invalid(fmt.Errorf("invalid mode: %s", mode))
	}
	if m.Source == "." || strings.HasPrefix(m.Source, "./") {
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return MountSpec{}, invalid(err)
		}
		m.Source = abs
	}
	m.Type = "volume"
	if path.IsAbs(m.Source) {
		m.Type = "bind"
		m.Source = path.Clean(m.Source)
		m.CreateSource = true
	}
	m.ReadOnly = false
	for _, o := range strings.Split(mode, ",") {
		switch o {
		case "ro":
			m.ReadOnly = true
		case "nocopy":
			m.NoCopy = true
		case "private", "rprivate", "shared", "rshared", "slave", "rslave":
			m.Propagation = o
		}
	}
	if m.Type == "bind" {
		if m.NoCopy {
			return MountSpec{}, invalid(mountConfigErr("bind", errors.New("field VolumeOptions must not be specified")))
		}
		if m.Propagation == "" {
			m.Propagation = "rprivate"
		}
	} else {
		if m.Propagation != "" {
			return MountSpec{}, invalid(mountConfigErr("volume", errors.New("field BindOptions must not be specified")))
		}
		if m.Source != "" && !volumeName.MatchString(m.Source) {
			return MountSpec{}, invalid(fmt.Errorf("%q includes invalid characters for a local volume name, only %q are allowed. If you intended to pass a host directory, use absolute path", m.Source, "[a-zA-Z0-9][a-zA-Z0-9_.-]"))
		}
	}
	t, err := validTarget(m.Target)
	if err != nil {
		return MountSpec{}, invalid(mountConfigErr(m.Type, err))
	}
	m.Target = t
	return m, nil
}

// validBindMode reports whether mode is a valid -v mode list (Docker's
// linuxValidMountMode): each kind at most once, nothing unknown.
func validBindMode(mode string) bool {
	if mode == "" {
		return true
	}
	var rw, label, prop, cp, cons int
	for _, o := range strings.Split(mode, ",") {
		switch o {
		case "rw", "ro":
			rw++
		case "z", "Z":
			label++
		case "private", "rprivate", "shared", "rshared", "slave", "rslave":
			prop++
		case "nocopy":
			cp++
		case "consistent", "cached", "delegated":
			cons++
		default:
			return false
		}
	}
	return rw <= 1 && label <= 1 && prop <= 1 && cp <= 1 && cons <= 1
}

// validTarget checks a mount destination as Docker does and cleans it.
func validTarget(t string) (string, error) {
	if t == "" {
		return "", errors.New("field Target must not be empty")
	}
	if strings.ContainsRune(t, 0) {
		return "", errors.New("invalid mount path: contains a NUL byte")
	}
	if !path.IsAbs(t) {
		return "", fmt.Errorf("invalid mount path: '%s' mount path must be absolute", t)
	}
	t = path.Clean(t)
	if t == "/" {
		return "", errors.New("invalid specification: destination can't be '/'")
	}
	return t, nil
}

// mountConfigErr words an error as Docker's errMountConfig.
func mountConfigErr(typ string, err error) error {
	return fmt.Errorf("invalid mount config for type %q: %w", typ, err)
}
