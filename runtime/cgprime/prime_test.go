package cgprime

import (
	"strings"
	"testing"
)

// TestCreates checks which command lines the constructor primes for:
// create and run, after any global flags, and nothing else.
func TestCreates(t *testing.T) {
	for line, want := range map[string]bool{
		"berth-runtime create --bundle b c1":                           true,
		"berth-runtime run -d --bundle b c1":                           true,
		"berth-runtime --root /run/x create c1":                        true,
		"berth-runtime --root=/run/x --debug run c1":                   true,
		"berth-runtime --log /l --log-format json --rootless auto run": true,
		"berth-runtime --root create start c1":                         false, // "create" is --root's value
		"berth-runtime start c1":                                       false,
		"berth-runtime delete --force run":                             false,
		"berth-runtime init":                                           false,
		"berth-runtime --version":                                      false,
		"berth-runtime -- run":                                         false,
		"berth-runtime":                                                false,
	} {
		if got := creates(strings.Fields(line)); got != want {
			t.Errorf("%q: primes %v, want %v", line, got, want)
		}
	}
}
