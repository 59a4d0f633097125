// Package ship moves images between berth's image store and registries
// over the OCI distribution protocol: pull, push and manifest inspect.
//
// The protocol is go-containerregistry's: its name package parses
// registry and repository names, its transport package does the
// authentication handshake (basic, Bearer tokens), its remote package
// uploads blobs (existence checks, cross-repository mounts). Tag
// listings are berth's own (tags.go, bounded against endless pages), and
// so are blob downloads (fetch.go): each goes through a
// content.Writer keyed by the blob's digest, so it is verified (size and
// digest) before it is published, and an interrupted download resumes
// with an HTTP Range request where the last one stopped, in this process
// (after a dropped connection) or in the next (after a kill).
//
// Names are recorded last: a pull holds the content store (content.Store
// Hold) from its first blob until its tag is written, so garbage
// collection never sees half an image, and a failed pull tags nothing.
package ship
