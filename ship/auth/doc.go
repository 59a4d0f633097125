// Package auth keeps registry credentials the way Docker does: in
// config.json ($DOCKER_CONFIG, else ~/.docker), base64 user:password under
// "auths", or in a credential helper (docker-credential-<name>, named by
// "credsStore" or per registry by "credHelpers"). It gives them to
// go-containerregistry as an authn.Keychain and verifies a login against a
// registry (Basic or Bearer) before it is saved.
package auth
