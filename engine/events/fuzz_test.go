package events

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParse feeds Parse lines as a crash or another writer could leave
// them: it must never panic, and what it accepts must encode again.
func FuzzParse(f *testing.F) {
	good, _ := json.Marshal(New(TypeContainer, "die", "abc", map[string]string{"exitCode": "0", "name": "x"}, time.Unix(1, 2)))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"Type":"image","Action":"tag","Actor":{"ID":"sha256:1","Attributes":null},"time":5}`))
	f.Add([]byte(`{"Type":"x","Action":"y","time":-1,"timeNano":9223372036854775807}`))
	f.Add([]byte("\x00\xff{"))
	f.Add([]byte(`{"Actor":{"Attributes":{"a":1}}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := Parse(line)
		if err != nil {
			return
		}
		if m.Type == "" || m.Action == "" || m.Actor.Attributes == nil {
			t.Fatalf("accepted an incomplete event: %+v", m)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("accepted event does not encode: %v", err)
		}
		_ = m.When()
		f, _ := ParseFilter([]string{"image=busybox", "container=x", "label=a=b"})
		_ = f.Match(m)
	})
}
