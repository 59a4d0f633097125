package build

import (
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// isProxyArg tells the build args Docker accepts without an ARG line and
// keeps out of the image history (they often carry credentials).
func isProxyArg(k string) bool {
	switch k {
	case "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
		"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy":
		return true
	}
	return false
}

// platformArgs are BuildKit's predefined platform ARGs: in the global
// scope (usable in FROM) without a declaration; inside a stage after
// `ARG NAME`.
func platformArgs() map[string]string {
	arch, variant := runtime.GOARCH, ""
	if arch == "arm" {
		variant = "v7"
	}
	plat := "linux/" + arch
	if variant != "" {
		plat += "/" + variant
	}
	return map[string]string{
		"TARGETPLATFORM": plat, "TARGETOS": "linux", "TARGETARCH": arch, "TARGETVARIANT": variant,
		"BUILDPLATFORM": plat, "BUILDOS": "linux", "BUILDARCH": arch, "BUILDVARIANT": variant,
	}
}

// ParseBuildArgs turns --build-arg values into a map: KEY=VALUE, or KEY
// alone to take the value from lookup (the environment), as Docker does;
// a KEY alone that the environment lacks is left out.
func ParseBuildArgs(values []string, lookup func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid build arg %q: empty name", v)
		}
		if !ok {
			if lookup == nil {
				continue
			}
			if val, ok = lookup(k); !ok {
				continue
			}
		}
		out[k] = val
	}
	return out, nil
}

// vars is an ordered set of KEY=VALUE pairs where a later set replaces an
// earlier one in place, as environment lists behave.
type vars struct {
	keys []string
	vals map[string]string
}

func newVars() *vars { return &vars{vals: map[string]string{}} }

func (v *vars) set(k, val string) {
	if _, ok := v.vals[k]; !ok {
		v.keys = append(v.keys, k)
	}
	v.vals[k] = val
}

func (v *vars) get(k string) (string, bool) {
	val, ok := v.vals[k]
	return val, ok
}

func (v *vars) clone() *vars {
	c := newVars()
	for _, k := range v.keys {
		c.set(k, v.vals[k])
	}
	return c
}

// envList returns KEY=VALUE lines in order.
func (v *vars) envList() []string {
	out := make([]string, 0, len(v.keys))
	for _, k := range v.keys {
		out = append(out, k+"="+v.vals[k])
	}
	return out
}

// lexEnv is the environment words are expanded against: the stage's
// ARGs, overridden by its ENV (Docker: "ENV always overrides ARG").
type lexEnv struct {
	args *vars
	env  []string
}

func (e lexEnv) Get(key string) (string, bool) {
	if v, ok := lookupEnv(e.env, key); ok {
		return v, true
	}
	if e.args != nil {
		return e.args.get(key)
	}
	return "", false
}

func (e lexEnv) Keys() []string {
	seen := map[string]bool{}
	var out []string
	for _, kv := range e.env {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if e.args != nil {
		for _, k := range e.args.keys {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

var _ shell.EnvGetter = lexEnv{}

// lookupEnv finds KEY in a KEY=VALUE list (the last one wins).
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		} else if !ok && env[i] == key {
			return "", true
		}
	}
	return "", false
}

// setEnv replaces KEY in env, or appends it.
func setEnv(env []string, key, val string) []string {
	out := append([]string{}, env...)
	for i, kv := range out {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out[i] = key + "=" + val
			return out
		}
	}
	return append(out, key+"="+val)
}
