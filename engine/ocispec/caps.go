package ocispec

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/caps"
)

// allCaps returns every capability the running kernel knows that berth
// itself holds in its bounding set: a container cannot be given more than
// its engine has (a host or an outer container may withhold some, as this
// project's own VM withholds CAP_SYS_RESOURCE), and asking for more makes
// the runtime's capset fail. Podman does the same; Docker assumes it holds
// every capability.
func allCaps() []string {
	known := caps.Known()
	if last, err := caps.LastCap(); err == nil && last+1 < len(known) {
		known = known[:last+1]
	}
	bnd, ok := ownBoundingSet()
	if !ok {
		return known
	}
	var out []string
	for i, c := range known {
		if bnd&(1<<uint(i)) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// ownBoundingSet reads the calling process's capability bounding set.
func ownBoundingSet() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// normalizeCaps turns --cap-add/--cap-drop values into CAP_ names ("ALL"
// stays), refusing unknown ones.
func normalizeCaps(flag string, list []string) ([]string, error) {
	known := caps.Known()
	var out []string
	for _, c := range list {
		if strings.EqualFold(c, "ALL") {
			out = append(out, "ALL")
			continue
		}
		n, err := caps.Parse(c)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, c, err)
		}
		out = append(out, known[n])
	}
	return out, nil
}

// capabilities returns the container's capability set as Docker's
// TweakCapabilities: every capability when privileged; with ALL added,
// every capability but the dropped ones; with ALL dropped, only the added
// ones; otherwise the defaults minus the dropped plus the added.
func capabilities(base, add, drop []string, privileged bool) ([]string, error) {
	if privileged {
		return allCaps(), nil
	}
	adds, err := normalizeCaps("--cap-add", add)
	if err != nil {
		return nil, err
	}
	drops, err := normalizeCaps("--cap-drop", drop)
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case contains(adds, "ALL"):
		for _, c := range allCaps() {
			if !contains(drops, c) {
				out = append(out, c)
			}
		}
	case contains(drops, "ALL"):
		out = adds
	default:
		for _, c := range base {
			if !contains(drops, c) {
				out = append(out, c)
			}
		}
		out = append(out, adds...)
	}
	// Duplicates (adding a default one) are harmless but noisy.
	var uniq []string
	for _, c := range out {
		if c != "ALL" && !contains(uniq, c) {
			uniq = append(uniq, c)
		}
	}
	return uniq, nil
}

// setCapabilities puts the set in the process as Docker does: a non-root
// user gets only the bounding set, as execve would leave it.
func setCapabilities(p *specs.Process, set []string) {
	c := &specs.LinuxCapabilities{Bounding: set}
	if p.User.UID == 0 {
		c.Effective = set
		c.Permitted = set
	}
	p.Capabilities = c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
