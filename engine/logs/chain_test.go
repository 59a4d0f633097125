package logs

import (
	"os"
	"testing"
)

func TestOpenChainGaps(t *testing.T) {
	p := newLog(t)
	// path.2 missing, as in the middle of a rotation's renames: the files
	// above it still belong to the chain. path.5 and path.6 missing: the end.
	for _, name := range []string{p, p + ".1", p + ".3", p + ".4", p + ".7"} {
		if err := os.WriteFile(name, []byte(name+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	files, found, err := openChain(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFiles(files)
	if found || len(files) != 4 {
		t.Fatalf("found %v, %d files, want 4", found, len(files))
	}
	// Up to a stop file, which is not included.
	st, err := os.Stat(p + ".3")
	if err != nil {
		t.Fatal(err)
	}
	newer, found, err := openNewer(p, st)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFiles(newer)
	if !found || len(newer) != 2 {
		t.Fatalf("found %v, %d files, want 2", found, len(newer))
	}
	// The live file missing (MaxFiles 1 between unlink and create).
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	rest, _, err := openChain(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFiles(rest)
	if len(rest) != 3 {
		t.Fatalf("%d files without the live one, want 3", len(rest))
	}
}
