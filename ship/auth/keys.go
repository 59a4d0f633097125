package auth

import (
	"strings"
)

// DockerHubKey is the key Docker files Docker Hub's credentials under.
const DockerHubKey = "https://index.docker.io/v1/"

// isDockerHub tells whether host is one of the names of Docker Hub.
func isDockerHub(host string) bool {
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// Hostname reduces a server as users and config files write it
// ("https://host:port/v1/", "host:port", "docker.io") to host[:port],
// with Docker Hub's names as index.docker.io.
func Hostname(server string) string {
	h := strings.TrimSpace(server)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	h = strings.ToLower(h)
	if isDockerHub(h) {
		return "index.docker.io"
	}
	return h
}

// Key is the config.json key credentials for server are stored under:
// DockerHubKey for Docker Hub, host[:port] for every other registry.
func Key(server string) string {
	h := Hostname(server)
	if h == "" || h == "index.docker.io" {
		return DockerHubKey
	}
	return h
}
