package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/distribution/distribution/v3"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// serveReferrers answers GET /v2/<name>/referrers/<digest>: an OCI index of
// the repository's manifests whose subject is digest, filtered by the
// artifactType query parameter when given.
func (e *extensions) serveReferrers(w http.ResponseWriter, r *http.Request, repo, ref string) {
	if !e.authorize(w, r, repo, "pull") {
		return
	}
	named, err := reference.WithName(repo)
	if err != nil {
		writeError(w, http.StatusBadRequest, "NAME_INVALID", "invalid repository name")
		return
	}
	subject, err := digest.Parse(ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "invalid digest")
		return
	}
	artifactType := r.URL.Query().Get("artifactType")
	descs, err := e.referrers(r.Context(), named, subject, artifactType)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	index := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: descs}
	index.SchemaVersion = 2
	body, err := json.Marshal(index)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", v1.MediaTypeImageIndex)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// referrers lists the manifests of repo whose subject is subject. It reads
// every manifest of the repository: a registry of berth's scale has few.
func (e *extensions) referrers(ctx context.Context, repo reference.Named, subject digest.Digest, artifactType string) ([]v1.Descriptor, error) {
	descs := []v1.Descriptor{}
	r, err := e.ns.Repository(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", repo, err)
	}
	ms, err := r.Manifests(ctx)
	if err != nil {
		return nil, fmt.Errorf("manifests of %s: %w", repo, err)
	}
	enum, ok := ms.(distribution.ManifestEnumerator)
	if !ok {
		return nil, errors.New("manifest store cannot be enumerated")
	}
	// A manifest pushed by its sha512 digest has two revision links, both
	// enumerated as its sha256 digest: it is listed once.
	seen := map[digest.Digest]bool{}
	err = enum.Enumerate(ctx, func(d digest.Digest) error {
		if seen[d] {
			return nil
		}
		seen[d] = true
		m, err := ms.Get(ctx, d)
		if err != nil {
			// A manifest deleted meanwhile is no referrer.
			return nil
		}
		mediaType, payload, err := m.Payload()
		if err != nil {
			return nil
		}
		desc, ok := referrerOf(payload, mediaType, subject)
		if !ok || (artifactType != "" && desc.ArtifactType != artifactType) {
			return nil
		}
		desc.Digest = d
		// A referrer pushed by its sha512 digest is listed by it.
		if alias, ok := e.aliases.alias(d); ok {
			desc.Digest = alias
		}
		descs = append(descs, desc)
		return nil
	})
	var notFound storagedriver.PathNotFoundError
	if err != nil && !errors.As(err, &notFound) {
		return nil, fmt.Errorf("enumerate manifests of %s: %w", repo, err)
	}
	sort.Slice(descs, func(i, j int) bool { return descs[i].Digest < descs[j].Digest })
	return descs, nil
}

// referrerFields are the fields of an image manifest or index a referrers
// list needs.
type referrerFields struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// referrerOf returns the referrers-list descriptor of a manifest if its
// subject is subject. The artifact type is the manifest's artifactType, or
// for an image manifest without one its config's media type.
func referrerOf(payload []byte, mediaType string, subject digest.Digest) (v1.Descriptor, bool) {
	var f referrerFields
	if err := json.Unmarshal(payload, &f); err != nil || f.Subject == nil || f.Subject.Digest != subject {
		return v1.Descriptor{}, false
	}
	if f.MediaType != "" {
		mediaType = f.MediaType
	}
	at := f.ArtifactType
	if at == "" && f.Config != nil && mediaType == v1.MediaTypeImageManifest {
		at = f.Config.MediaType
	}
	return v1.Descriptor{
		MediaType:    mediaType,
		Size:         int64(len(payload)),
		ArtifactType: at,
		Annotations:  f.Annotations,
	}, true
}
