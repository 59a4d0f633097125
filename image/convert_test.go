package image

import (
	"archive/tar"
	"context"
	"testing"
)

// TestWriteDockerManifest: an image written in Docker's schema2 form
// decodes as one, keeps its ID and unpacks.
func TestWriteDockerManifest(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, "overlay")
	img := testImage(t, s, "conv:1", makeTar(t, tarEntry{name: "f", body: "x", typ: tar.TypeReg}))
	d, err := s.WriteDockerManifest(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.content.ReadBlob(d.Digest, MaxManifestSize)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeManifest(b, MediaTypeDockerManifest)
	if err != nil {
		t.Fatalf("the schema2 manifest does not decode as one: %v", err)
	}
	if m.Config.MediaType != MediaTypeDockerConfig || m.Layers[0].MediaType != MediaTypeDockerLayerGzip {
		t.Errorf("media types: %s, %s", m.Config.MediaType, m.Layers[0].MediaType)
	}
	ref, _ := ParseRef("conv:docker")
	if err := s.Tag(ctx, ref, d); err != nil {
		t.Fatal(err)
	}
	docker, _ := s.Get(ctx, ref)
	id1, _ := s.ID(ctx, img)
	id2, err := s.ID(ctx, docker)
	if err != nil || id1 != id2 {
		t.Errorf("image ID changed: %s -> %s (%v)", id1, id2, err)
	}
	if _, err := s.Unpack(ctx, docker); err != nil {
		t.Errorf("unpack of the schema2 image: %v", err)
	}
}
