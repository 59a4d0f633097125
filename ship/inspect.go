package ship

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// Manifest is a manifest or index as a registry serves it.
type Manifest struct {
	// Ref is the full reference asked for.
	Ref string
	// Descriptor is the document's media type, digest and size.
	Descriptor ocispec.Descriptor
	// Raw is the document, byte for byte.
	Raw []byte
}

// Inspect fetches the manifest or index ref names, without storing it;
// with children, also each manifest an index lists (for --verbose).
func (c *Client) Inspect(ctx context.Context, ref image.Ref, children bool) (Manifest, []Manifest, error) {
	repo, reference, err := remoteName(ref)
	if err != nil {
		return Manifest{}, nil, err
	}
	eps, err := c.endpoints(ctx, repo)
	if err != nil {
		return Manifest{}, nil, err
	}
	defer closeAll(eps)
	var last error
	for _, ep := range eps {
		sess, err := c.open(ctx, ep, transport.PullScope)
		if err != nil {
			last = err
			continue
		}
		b, desc, err := sess.manifest(ctx, reference)
		if err != nil {
			last = err
			continue
		}
		top := Manifest{Ref: ref.String(), Descriptor: desc, Raw: b}
		if !children || !image.IsIndex(desc.MediaType) {
			return top, nil, nil
		}
		idx, err := image.DecodeIndex(b, desc.MediaType)
		if err != nil {
			return top, nil, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		var out []Manifest
		for _, d := range idx.Manifests {
			cb, cd, err := sess.manifest(ctx, d.Digest.String())
			if err != nil {
				return top, nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
			cd.Platform = d.Platform
			out = append(out, Manifest{Ref: ref.Repository() + "@" + d.Digest.String(), Descriptor: cd, Raw: cb})
		}
		return top, out, nil
	}
	return Manifest{}, nil, describeError(last)
}
