package events

import (
	"fmt"
	"sort"
	"strings"

	"berth/image"
)

// filterKeys are the keys Docker's events accept.
var filterKeys = map[string]bool{
	"config": true, "container": true, "daemon": true, "event": true, "image": true, "label": true,
	"network": true, "node": true, "plugin": true, "scope": true, "secret": true, "service": true,
	"type": true, "volume": true,
}

// Filter selects events as Docker's --filter does: values of one key are
// alternatives, different keys must all match, and every label filter
// must match.
type Filter map[string][]string

// ParseFilter reads "key=value" arguments.
func ParseFilter(args []string) (Filter, error) {
	f := Filter{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", a)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !filterKeys[k] {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		f[k] = append(f[k], strings.TrimSpace(v))
	}
	return f, nil
}

// Match tells whether m passes the filter.
func (f Filter) Match(m Message) bool {
	return f.matchEvent(m.Action) && f.exact("type", m.Type) && f.exact("scope", m.Scope) &&
		f.name(m, "daemon") && f.name(m, TypeContainer) && f.name(m, "plugin") && f.name(m, TypeVolume) &&
		f.name(m, "network") && f.matchImage(m) && f.name(m, "node") && f.name(m, "service") &&
		f.name(m, "secret") && f.name(m, "config") && f.matchLabels(m.Actor.Attributes)
}

// exact: no filter for key, or value is one of its values.
func (f Filter) exact(key, value string) bool {
	vs, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vs {
		if v == value {
			return true
		}
	}
	return false
}

// fuzzy: no filter for key, or one of its values is a prefix of value.
func (f Filter) fuzzy(key, value string) bool {
	vs, ok := f[key]
	if !ok {
		return true
	}
	for _, v := range vs {
		if strings.HasPrefix(value, v) {
			return true
		}
	}
	return false
}

// matchEvent: "exec_create", "exec_start" and "health_status" also match
// their actions with the command after a colon ("exec_start: sh").
func (f Filter) matchEvent(action string) bool {
	for _, v := range f["event"] {
		if v == "exec_create" || v == "exec_start" || v == "health_status" {
			return f.fuzzy("event", action)
		}
	}
	return f.exact("event", action)
}

// name matches the actor's ID or name by prefix, for filters of typ.
func (f Filter) name(m Message, typ string) bool {
	return f.fuzzy(typ, m.Actor.ID) || f.fuzzy(typ, m.Actor.Attributes["name"])
}

// matchImage matches an image event's ID or name, or a container event's
// image, also without the tag.
func (f Filter) matchImage(m Message) bool {
	attr := "image"
	if m.Type == TypeImage {
		attr = "name"
	}
	name := m.Actor.Attributes[attr]
	return f.exact("image", m.Actor.ID) || f.exact("image", name) ||
		f.exact("image", stripTag(m.Actor.ID)) || f.exact("image", stripTag(name))
}

// stripTag is an image reference's familiar name without tag or digest
// (busybox for docker.io/library/busybox:latest), or s if it is none.
func stripTag(s string) string {
	ref, err := image.ParseRef(s)
	if err != nil {
		return s
	}
	return ref.Repository()
}

// matchLabels: every label filter ("key" or "key=value") must match.
func (f Filter) matchLabels(attrs map[string]string) bool {
	for _, l := range f["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := attrs[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// String lists the filter as key=value arguments, sorted.
func (f Filter) String() string {
	var out []string
	for k, vs := range f {
		for _, v := range vs {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
