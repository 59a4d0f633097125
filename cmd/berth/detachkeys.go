package main

import (
	"bytes"
	"fmt"
	"strings"
)

// defaultDetachKeys are Docker's: Ctrl-P Ctrl-Q.
const defaultDetachKeys = "\x10\x11"

// parseDetachKeys parses Docker's --detach-keys: keys separated by commas,
// each a single character, "ctrl-" and one of a-z @ [ \ ] ^ _, or "DEL".
// Empty means Docker's default.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return []byte(defaultDetachKeys), nil
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case k == "DEL":
			out = append(out, 0x7f)
		case len(k) == 6 && strings.HasPrefix(k, "ctrl-") && k[5] >= 'a' && k[5] <= 'z':
			out = append(out, k[5]-'a'+1)
		case len(k) == 6 && strings.HasPrefix(k, "ctrl-") && strings.IndexByte(`@[\]^_`, k[5]) >= 0:
			out = append(out, k[5]-'@')
		default:
			return nil, fmt.Errorf("invalid detach keys (%s) provided: unknown key %q", s, k)
		}
	}
	return out, nil
}

// detacher finds the detach keys in what the user types, which may come
// split over reads: a read ending in the start of the keys is held back
// until the next shows whether the keys follow (then nothing of them goes
// to the container) or not (then the held bytes go on, as typed).
type detacher struct {
	keys []byte // none: never detach
	held []byte
}

// feed takes one read and returns what to pass to the container and
// whether the keys are complete (what followed them is dropped).
func (d *detacher) feed(in []byte) (out []byte, detached bool) {
	data := append(d.held, in...)
	d.held = nil
	if len(d.keys) == 0 {
		return data, false
	}
	if i := bytes.Index(data, d.keys); i >= 0 {
		return data[:i], true
	}
	// Hold the longest tail that starts the keys.
	for k := min(len(d.keys)-1, len(data)); k > 0; k-- {
		if bytes.HasSuffix(data, d.keys[:k]) {
			d.held = append([]byte(nil), data[len(data)-k:]...)
			return data[:len(data)-k], false
		}
	}
	return data, false
}
