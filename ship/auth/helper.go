package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// helperPrefix starts every credential helper's program name.
const helperPrefix = "docker-credential-"

// tokenUser is the user a helper stores an identity token under.
const tokenUser = "<token>"

// helperTimeout bounds one helper call: a helper waiting on a locked
// keyring must not hang a pull forever.
const helperTimeout = 60 * time.Second

// maxHelperMessage bounds the part of a failing helper's output quoted
// in the error.
const maxHelperMessage = 512

// helperWaitDelay is how long output is awaited after the helper exited.
const helperWaitDelay = 2 * time.Second

// maxHelperOutput bounds what is read from a helper.
const maxHelperOutput = 1 << 20

// ErrNotFound reports that no credentials are stored for a server.
var ErrNotFound = errors.New("credentials not found")

// notFoundMessage is what helpers print when they hold nothing for a
// server (docker-credential-helpers' credentials.errCredentialsNotFound).
const notFoundMessage = "credentials not found in native keychain"

// checkHelperName refuses helper names that are not one program name.
func checkHelperName(name string) error {
	if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
		return fmt.Errorf("invalid credential helper name %q", name)
	}
	return nil
}

// helper runs docker-credential-<name> with the protocol of
// github.com/docker/docker-credential-helpers: the action as argument,
// the request on stdin, the answer on stdout.
type helper struct{ name string }

// helperMessage is the JSON a helper reads for store and writes for get.
type helperMessage struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

func (h helper) run(ctx context.Context, action string, input []byte) ([]byte, error) {
	if err := checkHelperName(h.name); err != nil {
		return nil, err
	}
	prog := helperPrefix + h.name
	ctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, action)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxHelperOutput, 4096
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child the helper leaves behind (an agent it started) may hold
	// stdout open: once the helper exited, its answer is taken.
	cmd.WaitDelay = helperWaitDelay
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	out := bytes.TrimSpace(stdout.Bytes())
	if err != nil {
		if strings.Contains(string(out), notFoundMessage) {
			return nil, ErrNotFound
		}
		msg := string(out)
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if len(msg) > maxHelperMessage {
			msg = msg[:maxHelperMessage] + "..."
		}
		if msg != "" {
			return nil, fmt.Errorf("%s %s: %w: %s", prog, action, err, msg)
		}
		return nil, fmt.Errorf("%s %s: %w", prog, action, err)
	}
	if stdout.overflow {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", prog, action, maxHelperOutput)
	}
	return out, nil
}

// get asks the helper for server's credentials.
func (h helper) get(ctx context.Context, server string) (Credentials, error) {
	out, err := h.run(ctx, "get", []byte(server))
	if err != nil {
		return Credentials{}, err
	}
	c, err := parseHelperGet(out)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s%s get: %w", helperPrefix, h.name, err)
	}
	return c, nil
}

// parseHelperGet decodes a helper's answer to get; the "<token>" user
// means the secret is an identity token.
func parseHelperGet(out []byte) (Credentials, error) {
	var m helperMessage
	if err := json.Unmarshal(out, &m); err != nil {
		return Credentials{}, fmt.Errorf("invalid answer: %w", err)
	}
	if m.Username == tokenUser {
		return Credentials{IdentityToken: m.Secret}, nil
	}
	if m.Username == "" && m.Secret == "" {
		return Credentials{}, ErrNotFound
	}
	return Credentials{Username: m.Username, Password: m.Secret}, nil
}

// store hands server's credentials to the helper.
func (h helper) store(ctx context.Context, server string, c Credentials) error {
	m := helperMessage{ServerURL: server, Username: c.Username, Secret: c.Password}
	if c.IdentityToken != "" {
		m.Username, m.Secret = tokenUser, c.IdentityToken
	}
	in, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	_, err = h.run(ctx, "store", in)
	return err
}

// erase removes server's credentials from the helper.
func (h helper) erase(ctx context.Context, server string) error {
	_, err := h.run(ctx, "erase", []byte(server))
	return err
}

// limitedBuffer keeps the first max bytes written to it. The buffer is a
// field, not embedded: an embedded bytes.Buffer's ReadFrom would let
// os/exec's io.Copy fill it past max.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.overflow = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Bytes is what was kept.
func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }

// String is what was kept, as a string.
func (b *limitedBuffer) String() string { return b.buf.String() }
