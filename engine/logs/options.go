package logs

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// DefaultMaxSize is the size at which the live file rotates when Options
// gives none: bounded by default, unlike Docker's json-file.
const DefaultMaxSize = 10 << 20

// DefaultMaxFiles is how many files (the live one included) are kept when
// Options gives no number.
const DefaultMaxFiles = 3

// Options control rotation.
type Options struct {
	// MaxSize is the largest size in bytes of one file: a line that
	// would make the live file exceed it rotates first. 0 means
	// DefaultMaxSize; a negative value never rotates (Docker's
	// max-size=-1).
	MaxSize int64
	// MaxFiles is how many files are kept, the live one included: 0
	// means DefaultMaxFiles; 1 starts the live file afresh instead of
	// keeping an old one.
	MaxFiles int
}

// withDefaults returns o with zero values replaced, or an error naming
// the bad field.
func (o Options) withDefaults() (Options, error) {
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	switch {
	case o.MaxFiles == 0:
		o.MaxFiles = DefaultMaxFiles
	case o.MaxFiles < 0:
		return o, fmt.Errorf("log max-file %d: must be at least 1", o.MaxFiles)
	}
	return o, nil
}

// ParseOptions turns `--log-opt` values of the json-file driver into
// Options: max-size (bytes, or with a k, m, g, t, p suffix in powers of 1024,
// as Docker's: "10m", "512k", "1.5g"; -1 for no limit) and max-file (at
// least 1). Any other key is an error, as the options Docker also accepts
// (compress, labels, env, tag) are not supported.
func ParseOptions(opts map[string]string) (Options, error) {
	var o Options
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable first error
	for _, k := range keys {
		v := opts[k]
		switch k {
		case "max-size":
			n, err := parseSize(v)
			if err != nil {
				return Options{}, fmt.Errorf("log-opt max-size=%q: %w", v, err)
			}
			o.MaxSize = n
		case "max-file":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return Options{}, fmt.Errorf("log-opt max-file=%q: must be a number of at least 1", v)
			}
			o.MaxFiles = n
		default:
			return Options{}, fmt.Errorf("unknown log opt %q for json-file log driver", k)
		}
	}
	if o.MaxSize < 0 && o.MaxFiles > 1 {
		return Options{}, fmt.Errorf("log-opt max-file=%d needs a max-size", o.MaxFiles)
	}
	return o, nil
}

// parseSize parses a size as Docker's units.RAMInBytes: a decimal number,
// an optional space, an optional unit letter (b, k, m, g, t, p: powers of
// 1024), an optional "i" and an optional "b". "-1" means unlimited.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "-1" {
		return -1, nil
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimPrefix(s[i:], " "))
	if num == "" || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, fmt.Errorf("invalid size")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size")
	}
	unit = strings.TrimSuffix(unit, "b")
	unit = strings.TrimSuffix(unit, "i")
	mult := 1.0
	switch unit {
	case "":
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	case "p":
		mult = 1 << 50
	default:
		return 0, fmt.Errorf("invalid size unit %q", s[i:])
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size too large")
	}
	if v < 1 {
		return 0, fmt.Errorf("size must be at least 1 byte")
	}
	return int64(v), nil
}
