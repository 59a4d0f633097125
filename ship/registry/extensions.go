package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/opencontainers/go-digest"
)

// extensions are the parts of the OCI distribution spec 1.1 that
// distribution v3 lacks, served in front of its App: the referrers API
// and the OCI-Subject header on manifest pushes.
type extensions struct {
	root    string // the storage root
	aliases aliases
	ns      distribution.Namespace
	access  auth.AccessController // nil without auth
}

// newExtensions opens a second, read-only view of the registry's storage
// for the referrers API and the access controller that guards it.
func newExtensions(ctx context.Context, opts Options) (*extensions, error) {
	driver := filesystem.New(filesystem.DriverParameters{RootDirectory: opts.Root, MaxThreads: 100})
	ns, err := storage.NewRegistry(ctx, driver)
	if err != nil {
		return nil, fmt.Errorf("registry: storage: %w", err)
	}
	e := &extensions{root: opts.Root, aliases: newAliases(opts.Root), ns: ns}
	if opts.Htpasswd != "" {
		ac, err := auth.GetAccessController("htpasswd", map[string]any{"realm": realm, "path": opts.Htpasswd})
		if err != nil {
			return nil, fmt.Errorf("registry: htpasswd: %w", err)
		}
		e.access = ac
	}
	return e, nil
}

// wrap puts the extensions in front of next.
func (e *extensions) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if repo, ref, ok := splitRoute(r.URL.Path, "referrers"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			e.serveReferrers(w, r, repo, ref)
			return
		}
		q := r.URL.Query()
		if repo, ok := isUploadStart(r); ok && (q.Get("mount") != "" || q.Get("digest") != "") {
			// Refused before the storage is searched or the body read.
			if !e.authorize(w, r, repo, "push") {
				return
			}
			switch {
			case q.Get("mount") != "":
				e.anonymousMount(r)
				if d, err := digest.Parse(q.Get("mount")); err == nil && !canonical(d) {
					e.mountAlias(w, r, next, repo, d)
					return
				}
			case q.Get("digest") != "":
				e.postOnly(w, r, next)
				return
			}
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			if d, err := digest.Parse(q.Get("digest")); err == nil && !canonical(d) {
				e.uploadDone(w, r, next, d)
				return
			}
		}
		if _, ref, ok := splitRoute(r.URL.Path, "blobs"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if d, err := digest.Parse(ref); err == nil && !canonical(d) {
				stored, _ := e.aliases.target(d)
				next.ServeHTTP(&swapWriter{ResponseWriter: w, from: stored, to: d}, r)
				return
			}
		}
		if repo, ref, ok := splitRoute(r.URL.Path, "manifests"); ok {
			// A manifest is read whole before distribution sees it: who may
			// not push is refused first.
			if r.Method == http.MethodPut && !e.authorize(w, r, repo, "push") {
				return
			}
			if d, err := digest.Parse(ref); err == nil && !canonical(d) {
				e.manifestAlias(w, r, next, repo, d)
				return
			}
			if r.Method == http.MethodPut {
				e.putManifest(w, r, next)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// errInvalidName reports a repository name distribution would refuse.
var errInvalidName = errors.New("invalid repository name")

// splitRoute splits /v2/<name>/<kind>/<ref> (name may hold slashes).
func splitRoute(path, kind string) (name, ref string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/"+kind+"/")
	if i <= 0 {
		return "", "", false
	}
	name, ref = rest[:i], rest[i+len(kind)+2:]
	if ref == "" || strings.Contains(ref, "/") {
		return "", "", false
	}
	return name, ref, true
}

// authorize checks the request against the access controller, writing the
// challenge when it fails.
func (e *extensions) authorize(w http.ResponseWriter, r *http.Request, repo, action string) bool {
	if e.access == nil {
		return true
	}
	_, err := e.access.Authorized(r, auth.Access{Resource: auth.Resource{Type: "repository", Name: repo}, Action: action})
	if err == nil {
		return true
	}
	if ch, ok := err.(auth.Challenge); ok {
		ch.SetHeaders(r, w)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	}
	writeError(w, http.StatusForbidden, "DENIED", "access denied")
	return false
}

// writeError writes an error in the distribution spec's JSON form.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
