package build

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"
)

// metaStep is the effect of an instruction that changes only the image
// configuration: the history text and the change itself.
type metaStep struct {
	createdBy string
	apply     func(s *state)
}

// metaInstruction computes the effect of a metadata-only instruction,
// already expanded; ok is false for instructions that touch files.
func metaInstruction(cmd instructions.Command, st *state, expandWords func(string) ([]string, error)) (metaStep, bool, error) {
	cfg := &st.cfg.Config
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		var parts []string
		for _, kv := range c.Env {
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		env := c.Env
		return metaStep{"ENV " + strings.Join(parts, " "), func(s *state) {
			for _, kv := range env {
				s.cfg.Config.Env = setEnv(s.cfg.Config.Env, kv.Key, kv.Value)
			}
		}}, true, nil
	case *instructions.LabelCommand:
		var parts []string
		for _, kv := range c.Labels {
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		labels := c.Labels
		return metaStep{"LABEL " + strings.Join(parts, " "), func(s *state) {
			if s.cfg.Config.Labels == nil {
				s.cfg.Config.Labels = map[string]string{}
			}
			for _, kv := range labels {
				s.cfg.Config.Labels[kv.Key] = kv.Value
			}
		}}, true, nil
	case *instructions.MaintainerCommand:
		who := c.Maintainer
		return metaStep{"MAINTAINER " + who, func(s *state) { s.cfg.Author = who }}, true, nil
	case *instructions.UserCommand:
		u := c.User
		return metaStep{"USER " + u, func(s *state) { s.cfg.Config.User = u }}, true, nil
	case *instructions.CmdCommand:
		args := commandLine(c.CmdLine, c.PrependShell, cfg)
		return metaStep{fmt.Sprintf("CMD %q", args), func(s *state) {
			// BuildKit (docker 20.10) marks every CMD so.
			s.cfg.Config.Cmd, s.cfg.Config.ArgsEscaped, s.cmdSet = args, true, true
		}}, true, nil
	case *instructions.EntrypointCommand:
		args := commandLine(c.CmdLine, c.PrependShell, cfg)
		if c.PrependShell && len(c.CmdLine) == 0 {
			args = nil
		}
		return metaStep{fmt.Sprintf("ENTRYPOINT %q", args), func(s *state) {
			s.cfg.Config.Entrypoint = args
			if !s.cmdSet {
				s.cfg.Config.Cmd = nil
			}
		}}, true, nil
	case *instructions.ExposeCommand:
		var ports []string
		for _, p := range c.Ports {
			words, err := expandWords(p)
			if err != nil {
				return metaStep{}, true, err
			}
			for _, w := range words {
				ps, err := parsePortSpec(w)
				if err != nil {
					return metaStep{}, true, err
				}
				ports = append(ports, ps...)
			}
		}
		set := map[string]struct{}{}
		for _, p := range ports {
			set[p] = struct{}{}
		}
		return metaStep{fmt.Sprintf("EXPOSE %v", set), func(s *state) {
			if s.cfg.Config.ExposedPorts == nil {
				s.cfg.Config.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				s.cfg.Config.ExposedPorts[p] = struct{}{}
			}
		}}, true, nil
	case *instructions.VolumeCommand:
		vols := c.Volumes
		for _, v := range vols {
			if v == "" {
				return metaStep{}, true, fmt.Errorf("VOLUME specified can not be an empty string")
			}
		}
		return metaStep{fmt.Sprintf("VOLUME %v", vols), func(s *state) {
			if s.cfg.Config.Volumes == nil {
				s.cfg.Config.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				s.cfg.Config.Volumes[v] = struct{}{}
			}
		}}, true, nil
	case *instructions.StopSignalCommand:
		if err := checkSignal(c.Signal); err != nil {
			return metaStep{}, true, err
		}
		sig := c.Signal
		return metaStep{"STOPSIGNAL " + sig, func(s *state) { s.cfg.Config.StopSignal = sig }}, true, nil
	case *instructions.HealthCheckCommand:
		h := *c.Health
		h.Test = append([]string(nil), h.Test...)
		// The text docker 20.10's BuildKit writes (%q of the struct).
		return metaStep{fmt.Sprintf("HEALTHCHECK &{%q %q %q %q %q}", h.Test, h.Interval.String(), h.Timeout.String(),
			h.StartPeriod.String(), rune(h.Retries)), func(s *state) {
			hc := h
			s.cfg.Config.Healthcheck = &hc
		}}, true, nil
	case *instructions.ShellCommand:
		sh := append([]string(nil), c.Shell...)
		return metaStep{fmt.Sprintf("SHELL %v", sh), func(s *state) { s.cfg.Config.Shell = sh }}, true, nil
	case *instructions.OnbuildCommand:
		expr := c.Expression
		return metaStep{"ONBUILD " + expr, func(s *state) {
			s.cfg.Config.OnBuild = append(s.cfg.Config.OnBuild, expr)
		}}, true, nil
	}
	return metaStep{}, false, nil
}

// workdirPath resolves WORKDIR p against the current working directory.
func workdirPath(cur, p string) string {
	if !path.IsAbs(p) {
		if cur == "" {
			cur = "/"
		}
		p = path.Join(cur, p)
	}
	return path.Clean(p)
}

// parsePortSpec turns an EXPOSE word (80, 80/udp, 8000-8002/tcp) into
// "port/proto" keys.
func parsePortSpec(w string) ([]string, error) {
	port, proto, _ := strings.Cut(w, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(port, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", port)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, fmt.Errorf("invalid containerPort: %s", port)
		}
	}
	if end-start > 65535 {
		return nil, fmt.Errorf("invalid port range: %s", port)
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// checkSignal accepts a signal name (KILL, SIGKILL) or number, as Docker.
func checkSignal(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return fmt.Errorf("invalid signal: %s", s)
		}
		return nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if unix.SignalNum(name) != 0 || strings.HasPrefix(name, "SIGRTMIN") || strings.HasPrefix(name, "SIGRTMAX") {
		return nil
	}
	return fmt.Errorf("invalid signal: %s", s)
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
