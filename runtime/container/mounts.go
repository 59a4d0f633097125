package container

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// sharesMountNS tells whether the container has no mount namespace entry:
// its mounts were then made in the runtime's mount namespace.
func sharesMountNS(cfg *specs.Spec) bool {
	if cfg == nil || cfg.Linux == nil {
		return false
	}
	for _, n := range cfg.Linux.Namespaces {
		if n.Type == specs.MountNamespace {
			return false
		}
	}
	return true
}

// mountsUnder lists the mounts strictly below dir in this mount
// namespace by mount ID.
func mountsUnder(dir string) (map[int]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // mountinfo has resolved paths
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	found := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			continue
		}
		if mp := unescapeOctal(fields[4]); strings.HasPrefix(mp, prefix) {
			found[id] = mp
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return found, nil
}

// unmountNew detaches the mounts below dir that are not in keep (those
// that were there before the container was created), deepest first: what
// a container without a mount namespace of its own made in the runtime's
// (runc leaves them; berth cleans up).
func unmountNew(dir string, keep []int) error {
	found, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, id := range keep {
		delete(found, id)
	}
	targets := make([]string, 0, len(found))
	for _, mp := range found {
		targets = append(targets, mp)
	}
	sort.Slice(targets, func(i, j int) bool { return len(targets[i]) > len(targets[j]) })
	for _, t := range targets {
		if err := unix.Unmount(t, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", t, err)
		}
	}
	return nil
}

// unescapeOctal decodes mountinfo's \ooo escapes (space, tab, newline,
// backslash).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
