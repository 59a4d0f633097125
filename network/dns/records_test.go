package dns

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRecordsRejects(t *testing.T) {
	ok := `{"version":1,"listen":"10.89.0.1:53","containers":[{"id":"` + idWeb + `","names":["web"],"ipv4":["10.89.0.2"]}]}`
	if _, err := ParseRecords([]byte(ok)); err != nil {
		t.Fatalf("good records: %v", err)
	}
	for name, bad := range map[string]string{
		"not json":       "{",
		"trailing":       ok + "{}",
		"unknown field":  strings.Replace(ok, `"version"`, `"x":1,"version"`, 1),
		"version":        strings.Replace(ok, `"version":1`, `"version":2`, 1),
		"listen":         strings.Replace(ok, "10.89.0.1:53", "nowhere", 1),
		"id":             strings.Replace(ok, idWeb, "../../etc", 1),
		"upper id":       strings.Replace(ok, idWeb, strings.ToUpper(idWeb), 1),
		"name space":     strings.Replace(ok, `"web"`, `"we b"`, 1),
		"name empty":     strings.Replace(ok, `"web"`, `""`, 1),
		"name dots":      strings.Replace(ok, `"web"`, `"a..b"`, 1),
		"name long":      strings.Replace(ok, `"web"`, `"`+strings.Repeat("a", 64)+`"`, 1),
		"name too long":  strings.Replace(ok, `"web"`, `"`+strings.Repeat("abcdefghi.", 26)+`"`, 1),
		"name unicode":   strings.Replace(ok, `"web"`, `"wéb"`, 1),
		"name nul":       strings.Replace(ok, `"web"`, `"w\u0000b"`, 1),
		"v4 is v6":       strings.Replace(ok, "10.89.0.2", "fd00::1", 1),
		"v4 garbage":     strings.Replace(ok, "10.89.0.2", "10.89.0.256", 1),
		"subnet":         strings.Replace(ok, `"containers"`, `"subnets":["10.0.0.0/33"],"containers"`, 1),
		"domain":         strings.Replace(ok, `"containers"`, `"domain":"a b","containers"`, 1),
		"many names":     strings.Replace(ok, `["web"]`, `[`+strings.Repeat(`"a",`, 300)+`"b"]`, 1),
		"null container": `{"version":1,"containers":[null]}`,
		"network id":     strings.Replace(ok, `"ipv4"`, `"networks":["../../etc"],"ipv4"`, 1),
		"many networks":  strings.Replace(ok, `"ipv4"`, `"networks":[`+strings.Repeat(`"`+idWeb+`",`, 64)+`"`+idWeb+`"],"ipv4"`, 1),
	} {
		if _, err := ParseRecords([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestUpdateRefusesBadRecords(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	err := Update(t.Context(), root, testNet, nil, func(r *Records) error {
		r.Containers[0].Names = append(r.Containers[0].Names, "bad name")
		return nil
	})
	if err == nil {
		t.Fatal("Update wrote a bad name")
	}
	r, err := ReadRecords(filepath.Join(root, "networks", testNet))
	if err != nil || len(r.Containers) != 2 {
		t.Fatalf("records after a refused update: %v %v", r, err)
	}
	if err := Update(t.Context(), root, "../x", nil, baseRecords); err == nil {
		t.Error("bad network id accepted")
	}
}

func FuzzParseRecords(f *testing.F) {
	var r Records
	r.Version = recordsFileVersion
	_ = baseRecords(&r)
	good, _ := json.Marshal(&r)
	f.Add(good)
	f.Add([]byte(`{"version":1,"containers":[]}`))
	f.Add([]byte(`{"version":1,"domain":"x","subnets":["::/0"],"containers":[{"id":"` + idDB + `","names":["a","A"],"ipv6":["::1"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecords(data)
		if err != nil {
			return
		}
		// What parses re-encodes to records that parse the same.
		again, err := marshalRecords(r)
		if err != nil {
			t.Fatalf("parsed records do not re-encode: %v", err)
		}
		if _, err := ParseRecords(again); err != nil {
			t.Fatalf("re-encoded records do not parse: %v", err)
		}
	})
}

// TestValidName: the names the engine may put in the records, and the
// Docker-valid container and network names it must leave out.
func TestValidName(t *testing.T) {
	for _, n := range []string{"web", "www.n1", "my_db-1", strings.Repeat("a", 63)} {
		if !ValidName(n) {
			t.Errorf("ValidName(%q) = false", n)
		}
	}
	for _, n := range []string{"", "a..b", ".a", strings.Repeat("a", 64), "a b", "a\nb", "é"} {
		if ValidName(n) {
			t.Errorf("ValidName(%q) = true", n)
		}
	}
}
