// Package registry is berth's embedded OCI registry: the HTTP handlers and
// filesystem storage of github.com/distribution/distribution/v3 rooted in a
// directory, with htpasswd auth and TLS, and in front of them what
// distribution lacks of the distribution spec 1.1: the referrers API and
// the OCI-Subject header, one-request and anonymous-mount uploads, and
// content addressed by sha512. A lock keeps garbage collection away from
// a running server; garbage collection deletes unreferenced blobs.
//
// It is linked only into the berth-registry binary (cmd/berth-registry):
// distribution brings grpc, OpenTelemetry, Prometheus and Redis clients
// whose init functions and size every other berth command would pay for.
package registry
