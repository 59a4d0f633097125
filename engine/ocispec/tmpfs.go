package ocispec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// tmpfsDefaults are the options Docker gives every tmpfs it mounts.
var tmpfsDefaults = []string{"noexec", "nosuid", "nodev", "rprivate"}

// tmpfsFlags maps each mount flag a tmpfs takes to its opposite; the last
// of a pair given wins.
var tmpfsFlags = map[string]string{
	"ro": "rw", "rw": "ro", "suid": "nosuid", "nosuid": "suid", "dev": "nodev", "nodev": "dev",
	"exec": "noexec", "noexec": "exec", "sync": "async", "async": "sync",
	"mand": "nomand", "nomand": "mand", "atime": "noatime", "noatime": "atime",
	"diratime": "nodiratime", "nodiratime": "diratime", "relatime": "norelatime",
	"norelatime": "relatime", "strictatime": "nostrictatime", "nostrictatime": "strictatime",
	"dirsync": "",
}

// tmpfsPropagation are the propagation modes; one is kept, the last.
var tmpfsPropagation = map[string]bool{
	"private": true, "rprivate": true, "shared": true, "rshared": true,
	"slave": true, "rslave": true, "unbindable": true, "runbindable": true,
}

// ParseTmpfs parses a --tmpfs value, "/path" or "/path:opt,opt", into a
// tmpfs mount with Docker's default options (noexec, nosuid, nodev,
// rprivate) merged with the given ones. Options are mount flags (ro, exec,
// ...) and size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol=.
func ParseTmpfs(raw string) (MountSpec, error) {
	if strings.ContainsRune(raw, 0) {
		return MountSpec{}, fmt.Errorf("--tmpfs %q: contains a NUL byte", raw)
	}
	dest, opts, _ := strings.Cut(raw, ":")
	t, err := validTarget(dest)
	if err != nil {
		return MountSpec{}, fmt.Errorf("--tmpfs %s: %w", raw, err)
	}
	var data []string
	if opts != "" {
		data = strings.Split(opts, ",")
	}
	merged, err := tmpfsOptions(data)
	if err != nil {
		return MountSpec{}, fmt.Errorf("--tmpfs %s: %w", raw, err)
	}
	return MountSpec{Type: "tmpfs", Target: t, Tmpfs: merged}, nil
}

// tmpfsOptions merges Docker's defaults with opts (later wins), as moby's
// MergeTmpfsOptions, and checks the values the kernel would otherwise
// refuse at start with a vaguer message.
func tmpfsOptions(opts []string) ([]string, error) {
	all := append(append([]string{}, tmpfsDefaults...), opts...)
	var out []string
	seen := map[string]bool{}
	prop := false
	for i := len(all) - 1; i >= 0; i-- {
		o := all[i]
		if o == "defaults" {
			continue
		}
		if opp, ok := tmpfsFlags[o]; ok {
			if seen[o] || (opp != "" && seen[opp]) {
				continue
			}
			seen[o] = true
			out = append([]string{o}, out...)
			continue
		}
		if tmpfsPropagation[o] {
			if !prop {
				prop = true
				out = append([]string{o}, out...)
			}
			continue
		}
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("invalid tmpfs option %q", o)
		}
		if err := tmpfsValue(k, v); err != nil {
			return nil, fmt.Errorf("invalid tmpfs option %q: %w", o, err)
		}
		if !seen[k+"="] {
			seen[k+"="] = true
			out = append([]string{o}, out...)
		}
	}
	return out, nil
}

// tmpfsValue checks one key=value tmpfs option.
func tmpfsValue(k, v string) error {
	switch k {
	case "size":
		if strings.HasSuffix(v, "%") {
			if n, err := strconv.ParseUint(strings.TrimSuffix(v, "%"), 10, 32); err != nil || n == 0 || n > 100 {
				return errors.New("want a size or a percentage of memory")
			}
			return nil
		}
		if _, err := kernelSize(v); err != nil {
			return err
		}
	case "nr_blocks", "nr_inodes":
		if _, err := kernelSize(v); err != nil {
			return err
		}
	case "mode":
		if n, err := strconv.ParseUint(v, 8, 32); err != nil || n > 0o7777 {
			return errors.New("want an octal mode")
		}
	case "uid", "gid":
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return errors.New("want a number")
		}
	case "mpol":
		if v == "" {
			return errors.New("empty")
		}
	default:
		return errors.New("unknown option")
	}
	return nil
}

// kernelSize parses the size syntax of the tmpfs driver (memparse): a
// number with an optional k, m, g, t, p or e suffix.
func kernelSize(v string) (uint64, error) {
	num := strings.TrimRight(v, "kKmMgGtTpPeE")
	if len(v)-len(num) > 1 || num == "" {
		return 0, errors.New("want a number with an optional k, m or g suffix")
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, errors.New("want a number with an optional k, m or g suffix")
	}
	return n, nil
}
