package ocispec

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	runtimespec "berth/runtime/spec"
)

// Build returns the container's OCI configuration (config.json) for o, as
// Docker's daemon builds it, starting from berth-runtime's default spec
// (Docker's capabilities, seccomp profile, masked and read-only paths,
// mounts). Bad values are reported with the flag they came from. Build
// has effects on the host only where Docker has them at this point: it
// creates a missing -v source directory and the working directory in the
// rootfs, asks o.Volume for volumes, and writes the hostname, hosts and
// resolv.conf files into o.EtcDir (o.ContainerDir when unset).
func Build(o Options) (*specs.Spec, error) {
	if o.ID == "" || strings.ContainsAny(o.ID, "/\x00") || o.ID == "." || o.ID == ".." {
		return nil, fmt.Errorf("container ID %q: invalid", o.ID)
	}
	if o.Rootfs == "" || !filepath.IsAbs(o.Rootfs) {
		return nil, fmt.Errorf("rootfs %q: must be an absolute path", o.Rootfs)
	}
	s, err := runtimespec.Default()
	if err != nil {
		return nil, fmt.Errorf("default spec: %w", err)
	}
	defaultCaps := s.Process.Capabilities.Bounding

	// Everything that only parses comes first, so a bad flag fails before
	// Build touches the host.
	so, err := parseSecurityOpts(o.SecurityOpt)
	if err != nil {
		return nil, err
	}
	sys, err := sysctls(o.Sysctls, o.NetNS == "host")
	if err != nil {
		return nil, err
	}
	if err := resources(&o, s.Linux.Resources); err != nil {
		return nil, err
	}
	if err := ulimits(s.Process, o.Ulimits); err != nil {
		return nil, err
	}
	if o.Init && o.InitPath == "" {
		return nil, errors.New("--init: no init binary configured")
	}
	if err := network(s, o.NetNS); err != nil {
		return nil, err
	}
	a, err := args(&o)
	if err != nil {
		return nil, err
	}
	host, err := hostname(&o)
	if err != nil {
		return nil, err
	}
	e, err := env(&o, host)
	if err != nil {
		return nil, err
	}

	s.Root = &specs.Root{Path: o.Rootfs, Readonly: o.ReadOnly}
	s.Hostname = host
	s.Process.Args = a
	s.Process.Env = e
	s.Process.Terminal = o.TTY
	if o.TTY && o.ConsoleRows > 0 && o.ConsoleCols > 0 {
		s.Process.ConsoleSize = &specs.Box{Height: o.ConsoleRows, Width: o.ConsoleCols}
	}
	userSpec := o.User
	if userSpec == "" {
		userSpec = o.Image.User
	}
	if s.Process.User, err = ResolveUser(o.Rootfs, userSpec); err != nil {
		if userSpec != "" && o.User == "" {
			return nil, fmt.Errorf("image User %q: %w", userSpec, err)
		}
		return nil, err
	}
	s.Linux.CgroupsPath = "/berth/" + o.ID
	s.Linux.Sysctl = sys
	s.Annotations = labels(&o)
	if err := confine(&o, s, so, defaultCaps); err != nil {
		return nil, err
	}
	if o.Privileged {
		if err := privilegedDevices(s); err != nil {
			return nil, err
		}
	}
	if err := devices(s, o.Devices); err != nil {
		return nil, err
	}

	planned, err := planMounts(&o)
	if err != nil {
		return nil, err
	}

	// From here on Build changes the host (directories, volumes, files).
	if s.Process.Cwd, err = workdir(&o); err != nil {
		return nil, err
	}
	user, err := resolveMounts(&o, planned)
	if err != nil {
		return nil, err
	}
	user, err = addEtcMounts(&o, host, user)
	if err != nil {
		return nil, err
	}
	if o.Init {
		user = append(user, specs.Mount{Destination: initPath, Type: "bind", Source: o.InitPath, Options: []string{"bind", "ro"}})
	}
	rootPropagation(s, user)
	mergeMounts(s, user, o.ReadOnly, o.Privileged)
	return s, nil
}

// addEtcMounts writes and binds /etc/hostname, /etc/hosts and
// /etc/resolv.conf unless the user mounts something there, read-only
// with a read-only rootfs, as Docker does.
func addEtcMounts(o *Options, host string, user []specs.Mount) ([]specs.Mount, error) {
	if o.ContainerDir == "" {
		return user, nil
	}
	files, err := etcFiles(o, host)
	if err != nil {
		return nil, err
	}
	mounted := map[string]bool{}
	for _, m := range user {
		mounted[m.Destination] = true
	}
	var keep []etcFile
	for _, f := range files {
		if !mounted[f.dest] {
			keep = append(keep, f)
		}
	}
	dir := o.EtcDir
	if dir == "" {
		dir = o.ContainerDir
	}
	paths, err := writeEtcFiles(dir, keep)
	if err != nil {
		return nil, err
	}
	for _, f := range keep {
		opts := []string{"rbind"}
		if o.ReadOnly {
			opts = append(opts, "rro")
		}
		opts = append(opts, "rprivate")
		user = append(user, specs.Mount{Destination: f.dest, Type: "bind", Source: paths[f.dest], Options: opts})
	}
	return user, nil
}

// rootPropagation makes the rootfs shared or slave when a bind asks for
// shared or slave propagation, which needs its parent to be so (Docker's
// rule).
func rootPropagation(s *specs.Spec, mounts []specs.Mount) {
	for _, m := range mounts {
		for _, opt := range m.Options {
			switch opt {
			case "shared", "rshared":
				s.Linux.RootfsPropagation = "shared"
			case "slave", "rslave":
				if s.Linux.RootfsPropagation != "shared" {
					s.Linux.RootfsPropagation = "rslave"
				}
			}
		}
	}
}

// labels returns the container's labels as Docker merges them (the
// image's, overridden by -l), which berth also records as annotations.
func labels(o *Options) map[string]string {
	if len(o.Labels) == 0 && len(o.Image.Labels) == 0 {
		return nil
	}
	out := maps.Clone(o.Image.Labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, o.Labels)
	return out
}

// defaultSeccomp is Docker's default profile for s's capabilities.
func defaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	sc, err := runtimespec.DefaultSeccomp(s)
	if err != nil {
		return nil, fmt.Errorf("default seccomp profile: %w", err)
	}
	return sc, nil
}
