package ship

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"berth/image"
)

// remoteName splits a berth reference into the registry repository and
// the manifest reference (the digest when pinned, else the tag).
func remoteName(ref image.Ref) (name.Repository, string, error) {
	if ref.String() == "" {
		return name.Repository{}, "", fmt.Errorf("image reference %q: invalid reference format", ref.String())
	}
	repo, err := name.NewRepository(ref.Domain()+"/"+ref.Path(), name.StrictValidation)
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
