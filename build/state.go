package build

import (
	"crypto/sha256"
	"encoding/json"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// state is what a stage has built so far: the image configuration as
// Docker writes it (OCI fields plus Healthcheck, OnBuild, Shell), its
// layers, and the cache key of the steps that made it.
type state struct {
	cfg    dockerspec.DockerOCIImage
	layers []ocispec.Descriptor
	// key chains the cache keys of every step from the base image on.
	key digest.Digest
	// cmdSet says CMD was given in this stage: an ENTRYPOINT then keeps
	// it, else ENTRYPOINT clears the inherited CMD (Docker).
	cmdSet bool
}

// clone returns a deep copy, so that a stage built on another one never
// changes the other's state.
func (s state) clone() state {
	b, _ := json.Marshal(s.cfg)
	var c dockerspec.DockerOCIImage
	_ = json.Unmarshal(b, &c)
	s.cfg = c
	s.layers = append([]ocispec.Descriptor(nil), s.layers...)
	return s
}

// topChain is the chain ID of the top layer ("" without layers): the
// name of its committed snapshot.
func (s state) topChain() string {
	ids := image.ChainIDs(s.cfg.RootFS.DiffIDs)
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1].String()
}

// stepKey is the cache key of a step: the parent's key, the step's
// resolved text (what the history records, with build args and env
// already expanded) and any extra input (the content hash of copied
// files, the environment of a RUN).
func stepKey(parent digest.Digest, parts ...string) digest.Digest {
	h := sha256.New()
	h.Write([]byte(parent))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return digest.NewDigest(digest.SHA256, h)
}

// shellOf is the stage's shell for shell-form commands.
func shellOf(cfg *dockerspec.DockerOCIImageConfig) []string {
	if len(cfg.Shell) > 0 {
		return append([]string(nil), cfg.Shell...)
	}
	return []string{"/bin/sh", "-c"}
}

// commandLine turns a parsed CMD, ENTRYPOINT or RUN into its argv: the
// shell form runs through the stage's shell.
func commandLine(c []string, prependShell bool, cfg *dockerspec.DockerOCIImageConfig) []string {
	if !prependShell {
		return append([]string(nil), c...)
	}
	return append(shellOf(cfg), strings.Join(c, " "))
}
