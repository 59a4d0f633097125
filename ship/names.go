package ship

import (
	"fmt"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"

	"berth/image"
)

// remoteName splits a berth reference into the registry repository and
// the manifest reference (the digest when pinned, else the tag).
func remoteName(ref image.Ref) (name.Repository, string, error) {
	n, err := reference.ParseNormalizedNamed(ref.String())
	if err != nil {
		return name.Repository{}, "", fmt.Errorf("image reference %q: %w", ref.String(), err)
	}
	repo, err := name.NewRepository(reference.Domain(n)+"/"+reference.Path(n), name.StrictValidation)
	if err != nil {
		return name.Repository{}, "", fmt.Errorf("image reference %q: %w", ref.Familiar(), err)
	}
	if d := ref.Digest(); d != "" {
		return repo, d.String(), nil
	}
	tag := ref.Tag()
	if tag == "" {
		tag = "latest"
	}
	return repo, tag, nil
}
