package seccompfilter

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFilterJSONRoundTrip(t *testing.T) {
	f := Filter{
		Prog: []unix.SockFilter{
			{Code: 0x20, K: 4},
			{Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e},
			{Code: 0x06, K: 0x7fff0000},
		},
		Flags:   3,
		Ignored: []string{"nosuchcall"},
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var got Filter
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, got) {
		t.Fatalf("round trip: got %+v, want %+v", got, f)
	}
	// Through a pointer too, as initproc.Config holds it.
	b, err = json.Marshal(struct{ F *Filter }{&f})
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ F *Filter }
	if err := json.Unmarshal(b, &p); err != nil || !reflect.DeepEqual(*p.F, f) {
		t.Fatalf("round trip through a pointer: %v, %+v", err, p.F)
	}
}

func TestFilterJSONHostile(t *testing.T) {
	long := base64.StdEncoding.EncodeToString(make([]byte, (MaxProgram+1)*insnSize))
	for name, in := range map[string]string{
		"partial instruction": `{"prog":"` + base64.StdEncoding.EncodeToString(make([]byte, 12)) + `"}`,
		"too long":            `{"prog":"` + long + `"}`,
		"old form":            `{"prog":[{"Code":32,"Jt":0,"Jf":0,"K":4}]}`,
		"bad base64":          `{"prog":"!!!"}`,
		"not an object":       `[1,2]`,
		"flags not a number":  `{"prog":"","flags":"x"}`,
	} {
		var f Filter
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("%s: decoded without an error: %+v", name, f)
		} else if !strings.Contains(err.Error(), "seccomp filter") {
			t.Errorf("%s: error %q does not say what it was decoding", name, err)
		}
	}
}

// FuzzFilterJSON decodes arbitrary input as a filter: no panic, and what
// decodes holds whole instructions within the kernel's limit and encodes
// back to the same filter.
func FuzzFilterJSON(f *testing.F) {
	f.Add([]byte(`{"prog":"IAAAAAAAAAA=","flags":1}`))
	f.Add([]byte(`{"prog":[]}`))
	f.Add([]byte(`{"prog":"AAAA"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var flt Filter
		if json.Unmarshal(data, &flt) != nil {
			return
		}
		if len(flt.Prog) > MaxProgram {
			t.Fatalf("%d instructions decoded", len(flt.Prog))
		}
		b, err := json.Marshal(flt)
		if err != nil {
			t.Fatal(err)
		}
		var again Filter
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(flt.Prog, again.Prog) && (len(flt.Prog) != 0 || len(again.Prog) != 0) {
			t.Fatalf("re-encoded program differs")
		}
	})
}
