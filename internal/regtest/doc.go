// Package regtest holds fixtures for tests of registries and their
// clients: a self-signed certificate for loopback, and a Bearer token
// front for a registry. Test code only.
package regtest
