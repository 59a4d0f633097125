package main

import (
	"fmt"
	"strings"
	"time"

	"berth/engine/logs"
)

// pruneFilter is the --filter of Docker's prune commands: until= (made
// before a time) and label= / label!= (with or without a value). Each
// kind must hold for an object to be pruned; several label filters must
// all hold.
type pruneFilter struct {
	until     time.Time // zero: none
	labels    []labelCond
	hasFilter bool
}

// labelCond is one label or label! filter.
type labelCond struct {
	key, value string
	hasValue   bool
	negate     bool
}

// parsePruneFilters parses --filter values as Docker's prune commands
// take them; now anchors durations ("24h": made more than 24 hours ago).
func parsePruneFilters(values []string, now time.Time) (pruneFilter, error) {
	var f pruneFilter
	for _, raw := range values {
		k, v, ok := strings.Cut(raw, "=")
		if !ok {
			return f, fmt.Errorf("bad format of filter (expected name=value): %q", raw)
		}
		f.hasFilter = true
		switch k {
		case "until":
			t, err := logs.ParseTime(v, now)
			if err != nil {
				return f, fmt.Errorf("--filter until=%s: %w", v, err)
			}
			if f.until.IsZero() || t.Before(f.until) {
				f.until = t
			}
		case "label", "label!":
			if v == "" {
				return f, fmt.Errorf("--filter %s: a label key is needed", raw)
			}
			lk, lv, hasV := strings.Cut(v, "=")
			f.labels = append(f.labels, labelCond{key: lk, value: lv, hasValue: hasV, negate: k == "label!"})
		default:
			return f, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return f, nil
}

// match tells whether an object made at created with labels is pruned.
func (f pruneFilter) match(created time.Time, labels map[string]string) bool {
	if !f.until.IsZero() && !created.Before(f.until) {
		return false
	}
	for _, l := range f.labels {
		got, ok := labels[l.key]
		has := ok && (!l.hasValue || got == l.value)
		if has == l.negate {
			return false
		}
	}
	return true
}
