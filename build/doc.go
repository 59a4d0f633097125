// Package build turns a Dockerfile and its context into an image, as
// `docker build` does: the Dockerfile is parsed by BuildKit's reference
// parser, each stage runs its instructions on a snapshot of its parent
// (RUN in a container through the OCI runtime, COPY and ADD through
// package copier), each step that changes files commits one layer, and a
// cache keyed on the parent, the resolved instruction and the content of
// the copied files makes an unchanged rebuild do no work.
//
// The image configuration and history are written as BuildKit writes them
// (history "created_by" texts, empty_layer for metadata-only steps).
package build
