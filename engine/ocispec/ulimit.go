package ocispec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ulimitNames are the names Docker's --ulimit takes (go-units).
var ulimitNames = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
	"nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS",
	"rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
	"stack": "RLIMIT_STACK",
}

// ParseUlimit parses a --ulimit value, name=soft[:hard] (hard defaults to
// soft; -1 is unlimited), as go-units' ParseUlimit.
func ParseUlimit(v string) (specs.POSIXRlimit, error) {
	bad := func(err error) (specs.POSIXRlimit, error) {
		return specs.POSIXRlimit{}, fmt.Errorf("--ulimit %s: %w", v, err)
	}
	name, limits, ok := strings.Cut(v, "=")
	if !ok {
		return bad(fmt.Errorf("invalid ulimit argument: %s", v))
	}
	typ, known := ulimitNames[name]
	if !known {
		return bad(fmt.Errorf("invalid ulimit type: %s", name))
	}
	parts := strings.Split(limits, ":")
	if len(parts) > 2 {
		return bad(fmt.Errorf("too many limit value arguments - %s, can only have up to two, `soft[:hard]`", limits))
	}
	soft, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return bad(fmt.Errorf("invalid soft limit %q", parts[0]))
	}
	hard := soft
	if len(parts) == 2 {
		if hard, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
			return bad(fmt.Errorf("invalid hard limit %q", parts[1]))
		}
	}
	if soft < -1 || hard < -1 {
		return bad(fmt.Errorf("limits must be -1 (unlimited) or positive"))
	}
	if hard != -1 {
		if soft == -1 {
			return bad(fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: %d", hard))
		}
		if soft > hard {
			return bad(fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: %d > %d", soft, hard))
		}
	}
	return specs.POSIXRlimit{Type: typ, Soft: rlim(soft), Hard: rlim(hard)}, nil
}

// rlim maps -1 to RLIM_INFINITY.
func rlim(n int64) uint64 {
	if n == -1 {
		return math.MaxUint64
	}
	return uint64(n)
}

// ulimits applies --ulimit values over the spec's defaults; a later value
// of a type replaces an earlier one.
func ulimits(p *specs.Process, list []string) error {
	for _, v := range list {
		r, err := ParseUlimit(v)
		if err != nil {
			return err
		}
		replaced := false
		for i := range p.Rlimits {
			if p.Rlimits[i].Type == r.Type {
				p.Rlimits[i], replaced = r, true
			}
		}
		if !replaced {
			p.Rlimits = append(p.Rlimits, r)
		}
	}
	return nil
}
