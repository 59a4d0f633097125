package ship

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"

	digest "github.com/opencontainers/go-digest"
)

// maxSources bounds the repositories remembered per blob.
const maxSources = 8

// sources remembers, per blob, the repositories it was pulled from
// (registry/path), so that a push to another repository of the same
// registry can mount it instead of uploading it. The records are hints:
// a stale one costs a failed mount and an upload. They live in
// <root>/ship/sources/<alg>/<hex>, a JSON list, newest first.
type sources struct{ dir string }

func newSources(root string) sources { return sources{filepath.Join(root, "ship", "sources")} }

func (s sources) path(d digest.Digest) (string, bool) {
	if d.Validate() != nil {
		return "", false
	}
	return filepath.Join(s.dir, d.Algorithm().String(), d.Encoded()), true
}

// get returns the repositories d came from.
func (s sources) get(d digest.Digest) []string {
	p, ok := s.path(d)
	if !ok {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var out []string
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// add records that d came from repo. Failures are ignored: the record
// only saves an upload.
func (s sources) add(d digest.Digest, repo string) {
	p, ok := s.path(d)
	if !ok {
		return
	}
	old := s.get(d)
	if len(old) > 0 && old[0] == repo {
		return
	}
	list := append([]string{repo}, slices.DeleteFunc(old, func(r string) bool { return r == repo })...)
	if len(list) > maxSources {
		list = list[:maxSources]
	}
	b, err := json.Marshal(list)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}
