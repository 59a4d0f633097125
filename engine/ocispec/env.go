package ocispec

import (
	"fmt"
	"strings"
)

// defaultPath is Docker's PATH for Linux containers whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env returns process.env as Docker's daemon builds it: PATH, HOSTNAME
// and (with a terminal) TERM first, then the user's -e values in order and
// the image's variables the user did not set; a later value of a name
// replaces the earlier one in place. "-e KEY" takes KEY from HostEnv;
// when the host has no KEY it unsets KEY, as Docker does.
func env(o *Options, host string) ([]string, error) {
	var user []string
	for _, e := range o.Env {
		k, _, ok := strings.Cut(e, "=")
		if k == "" || strings.ContainsRune(e, 0) {
			return nil, fmt.Errorf("-e %q: invalid environment variable", e)
		}
		if !ok && o.HostEnv != nil {
			if v, found := o.HostEnv(k); found {
				e = k + "=" + v
			}
		}
		user = append(user, e)
	}
	set := map[string]bool{}
	for _, e := range user {
		k, _, _ := strings.Cut(e, "=")
		set[k] = true
	}
	merged := user
	for _, e := range o.Image.Env {
		k, _, ok := strings.Cut(e, "=")
		if k == "" || !ok || strings.ContainsRune(e, 0) {
			// A broken image entry cannot be passed to execve sensibly.
			return nil, fmt.Errorf("image Env %q: invalid environment variable", e)
		}
		if !set[k] {
			merged = append(merged, e)
		}
	}
	out := []string{"PATH=" + defaultPath, "HOSTNAME=" + host}
	if o.TTY {
		out = append(out, "TERM=xterm")
	}
	return replaceOrAppend(out, merged), nil
}

// replaceOrAppend applies overrides to defaults as Docker's
// ReplaceOrAppendEnvValues: NAME=value replaces NAME in place or is
// appended; a bare NAME removes it.
func replaceOrAppend(defaults, overrides []string) []string {
	index := map[string]int{}
	out := append([]string{}, defaults...)
	for i, e := range out {
		k, _, _ := strings.Cut(e, "=")
		index[k] = i
	}
	removed := map[int]bool{}
	for _, e := range overrides {
		k, _, ok := strings.Cut(e, "=")
		i, exists := index[k]
		switch {
		case !ok:
			if exists {
				removed[i] = true
				delete(index, k)
			}
		case exists:
			out[i] = e
		default:
			index[k] = len(out)
			out = append(out, e)
		}
	}
	kept := out[:0]
	for i, e := range out {
		if !removed[i] {
			kept = append(kept, e)
		}
	}
	return kept
}
