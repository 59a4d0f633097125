package cli_test

import (
	"debug/buildinfo"
	"path/filepath"
	"strings"
	"testing"
)

// TestFullBinarySplit: berth links neither the builder (BuildKit), nor the
// registry client (go-containerregistry), nor the name server (miekg/dns),
// whose package initialization every command would pay for; berth-full,
// beside it, links them.
func TestFullBinarySplit(t *testing.T) {
	heavy := []string{"github.com/moby/buildkit", "github.com/google/go-containerregistry", "github.com/miekg/dns"}
	modules := func(path string) string {
		t.Helper()
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, d := range info.Deps {
			b.WriteString(d.Path + "\n")
		}
		return b.String()
	}
	lean, full := modules(binary), modules(filepath.Join(filepath.Dir(binary), "berth-full"))
	for _, m := range heavy {
		if strings.Contains(lean, m+"\n") {
			t.Errorf("berth links %s", m)
		}
		if !strings.Contains(full, m+"\n") {
			t.Errorf("berth-full does not link %s", m)
		}
	}
}
