package ocispec

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"berth/runtime/inroot"
)

// ErrNoCommand is returned when neither the image nor the user gives a
// command to run (Docker's "No command specified").
var ErrNoCommand = errors.New("no command specified")

// initPath is where --init's binary is bound in the container.
const initPath = "/sbin/berth-init"

// args returns process.args by Docker's rules: the entrypoint (the image's,
// or --entrypoint's, which also drops the image's Cmd; "" clears it)
// followed by the command (the user's, else the image's).
func args(o *Options) ([]string, error) {
	entrypoint := o.Image.Entrypoint
	cmd := o.Image.Cmd
	if o.Entrypoint != nil {
		// Docker's CLI sends --entrypoint as a one-element list (not split
		// on spaces); a set entrypoint means the image's Cmd no longer
		// applies, even when the entrypoint is "".
		entrypoint = nil
		if *o.Entrypoint != "" {
			entrypoint = []string{*o.Entrypoint}
		}
		cmd = nil
	}
	if len(o.Cmd) > 0 {
		cmd = o.Cmd
	}
	a := append(append([]string{}, entrypoint...), cmd...)
	if len(a) == 0 {
		return nil, ErrNoCommand
	}
	for _, s := range a {
		if strings.ContainsRune(s, 0) {
			return nil, fmt.Errorf("command %q: contains a NUL byte", s)
		}
	}
	if o.Init {
		a = append([]string{initPath, "--"}, a...)
	}
	return a, nil
}

// workdir returns process.cwd (-w, else the image's WorkingDir, else "/")
// and creates it inside the rootfs when missing, as Docker does at start.
func workdir(o *Options) (string, error) {
	flag, wd := "-w", o.Workdir
	if wd == "" {
		flag, wd = "image WorkingDir", o.Image.WorkingDir
	}
	if wd == "" {
		return "/", nil
	}
	if !path.IsAbs(wd) || strings.ContainsRune(wd, 0) {
		return "", fmt.Errorf("%s: the working directory '%s' is invalid, it needs to be an absolute path", flag, wd)
	}
	wd = path.Clean(wd)
	if wd == "/" || o.Rootfs == "" {
		return wd, nil
	}
	root, err := os.Open(o.Rootfs)
	if err != nil {
		return "", fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()
	// Created inside the rootfs: a symlink on the way resolves in it.
	d, err := inroot.MkdirAll(root, wd, 0o755)
	if err != nil {
		return "", fmt.Errorf("%s %s: create the working directory: %w", flag, wd, err)
	}
	d.Close()
	return wd, nil
}

// hostname returns the container's hostname: -h, else the host's with the
// host's network (as Docker), else the ID's first 12 characters.
func hostname(o *Options) (string, error) {
	h := o.Hostname
	if h == "" && o.NetNS == "host" {
		hn, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("host's hostname: %w", err)
		}
		return hn, nil
	}
	if h == "" {
		h = o.ID
		if len(h) > 12 {
			h = h[:12]
		}
	}
	if err := validHostname(h); err != nil {
		return "", fmt.Errorf("-h %q: %w", h, err)
	}
	return h, nil
}

// validHostname accepts what sethostname(2) takes and a resolver can use:
// up to 64 bytes of letters, digits, '-', '_' and '.'.
func validHostname(h string) error {
	if h == "" {
		return errors.New("invalid hostname: empty")
	}
	if len(h) > 64 {
		return errors.New("invalid hostname: longer than 64 characters")
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("invalid hostname: character %q not allowed", c)
		}
	}
	return nil
}
