package ocispec

import (
	"encoding/csv"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseMount parses a --mount value as Docker's CLI and daemon do: a CSV
// list of key=value fields (quoting allowed), type=bind|volume|tmpfs
// (default volume), source|src, target|dst|destination, readonly|ro[=bool],
// bind-propagation=, bind-recursive=enabled|disabled|writable|readonly,
// bind-nonrecursive, volume-nocopy[=bool], tmpfs-size=, tmpfs-mode=.
// volume-driver other than local, volume-opt, volume-subpath and
// volume-label are refused: berth's volumes are plain directories.
func ParseMount(raw string) (MountSpec, error) {
	bad := func(err error) (MountSpec, error) {
		return MountSpec{}, fmt.Errorf("--mount %s: %w", raw, err)
	}
	if strings.ContainsRune(raw, 0) {
		return bad(errors.New("contains a NUL byte"))
	}
	r := csv.NewReader(strings.NewReader(raw))
	r.FieldsPerRecord = -1
	fields, err := r.Read()
	if err != nil {
		return bad(fmt.Errorf("invalid CSV: %w", err))
	}
	if more, err := r.Read(); err == nil || len(more) > 0 {
		return bad(errors.New("must be a single line"))
	}
	m := MountSpec{Type: "volume"}
	var (
		bindOpt, volOpt, tmpfsOpt bool
		recursive                 string
		size                      int64
		mode                      uint64
		sawMode                   bool
	)
	for _, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		key = strings.ToLower(key)
		if !ok {
			switch key {
			case "readonly", "ro":
				m.ReadOnly = true
				continue
			case "volume-nocopy":
				m.NoCopy, volOpt = true, true
				continue
			case "bind-nonrecursive":
				m.NonRecursive, bindOpt = true, true
				continue
			}
			return bad(fmt.Errorf("invalid field '%s' must be a key=value pair", f))
		}
		switch key {
		case "type":
			m.Type = strings.ToLower(val)
		case "source", "src":
			m.Source = val
			if val == "." || strings.HasPrefix(val, "./") {
				if abs, err := filepath.Abs(val); err == nil {
					m.Source = abs
				}
			}
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return bad(fmt.Errorf("invalid value for %s: %s", key, val))
			}
			m.ReadOnly = b
		case "consistency":
			// Only meaningful on Docker Desktop; accepted and ignored.
		case "bind-propagation":
			switch val {
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				m.Propagation, bindOpt = val, true
			default:
				return bad(fmt.Errorf("invalid propagation mode: %s", val))
			}
		case "bind-nonrecursive":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return bad(fmt.Errorf("invalid value for %s: %s", key, val))
			}
			m.NonRecursive, bindOpt = b, true
		case "bind-recursive":
			switch val {
			case "enabled", "disabled", "writable", "readonly":
				recursive, bindOpt = val, true
			default:
				return bad(fmt.Errorf("invalid value for %s: %s (want enabled, disabled, writable or readonly)", key, val))
			}
		case "volume-nocopy":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return bad(fmt.Errorf("invalid value for %s: %s", key, val))
			}
			m.NoCopy, volOpt = b, true
		case "volume-driver":
			volOpt = true
			if val != "local" {
				return bad(fmt.Errorf("volume-driver %q: berth has only the local volume driver", val))
			}
		case "volume-opt", "volume-label", "volume-subpath":
			return bad(fmt.Errorf("%s is not supported: berth's volumes are plain directories of the local driver", key))
		case "tmpfs-size":
			n, err := ParseSize(val)
			if err != nil {
				return bad(fmt.Errorf("invalid value for %s: %s", key, val))
			}
			size, tmpfsOpt = n, true
		case "tmpfs-mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil || n > 0o7777 {
				return bad(fmt.Errorf("invalid value for %s: %s", key, val))
			}
			mode, sawMode, tmpfsOpt = n, true, true
		default:
			return bad(fmt.Errorf("unexpected key '%s' in '%s'", key, f))
		}
	}
	if m.Target == "" {
		return bad(errors.New("target is required"))
	}
	switch {
	case volOpt && m.Type != "volume":
		return bad(fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type))
	case bindOpt && m.Type != "bind":
		return bad(fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", m.Type))
	case tmpfsOpt && m.Type != "tmpfs":
		return bad(fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", m.Type))
	}
	t, err := validTarget(m.Target)
	if err != nil {
		return bad(mountConfigErr(m.Type, err))
	}
	m.Target = t
	switch m.Type {
	case "bind":
		if m.Source == "" {
			return bad(mountConfigErr("bind", errors.New("field Source must not be empty")))
		}
		if !path.IsAbs(m.Source) {
			return bad(mountConfigErr("bind", fmt.Errorf("invalid mount path: '%s' mount path must be absolute", m.Source)))
		}
		m.Source = path.Clean(m.Source)
		if m.Propagation == "" {
			m.Propagation = "rprivate"
		}
		switch recursive {
		case "disabled":
			m.NonRecursive = true
		case "writable":
			m.ReadOnlyNonRecursive = true
		case "readonly":
			if !m.ReadOnly {
				return bad(mountConfigErr("bind", errors.New("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction")))
			}
		}
	case "volume":
		if m.Source == "" && m.ReadOnly {
			return bad(mountConfigErr("volume", errors.New("must not set ReadOnly mode when using anonymous volumes")))
		}
		if m.Source != "" && !volumeName.MatchString(m.Source) {
			return bad(mountConfigErr("volume", fmt.Errorf("%q includes invalid characters for a local volume name, only %q are allowed", m.Source, "[a-zA-Z0-9][a-zA-Z0-9_.-]")))
		}
	case "tmpfs":
		if m.Source != "" {
			return bad(mountConfigErr("tmpfs", errors.New("field Source must not be specified")))
		}
		var data []string
		if m.ReadOnly {
			data = append(data, "ro")
		}
		if sawMode && mode != 0 {
			data = append(data, "mode="+strconv.FormatUint(mode, 8))
		}
		if size != 0 {
			data = append(data, "size="+humanSize(size))
		}
		opts, err := tmpfsOptions(data)
		if err != nil {
			return bad(mountConfigErr("tmpfs", err))
		}
		m.Tmpfs = opts
	default:
		return bad(mountConfigErr(m.Type, errors.New("mount type unknown")))
	}
	return m, nil
}
