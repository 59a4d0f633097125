package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"berth/engine"
	"berth/engine/logs"
	"berth/engine/ocispec"
)

// runFlags are the flags of create and run.
type runFlags struct {
	name, user, workdir, hostname, entrypoint         string
	env, envFile, labels, binds, mounts, tmpfs        []string
	ulimits, capAdd, capDrop, securityOpt, devices    []string
	sysctls, logOpts                                  []string
	memory, memorySwap, memoryReservation, cpus       string
	cpuShares, cpusetCPUs, cpusetMems, pidsLimit      string
	restart, stopSignal, runtime, pull, network       string
	stopTimeout                                       int
	tty, interactive, rm, readOnly, privileged, init_ bool
	detach                                            bool
	net                                               netFlags
}

func (f *runFlags) register(fs *pflag.FlagSet, run bool) {
	fs.StringVar(&f.name, "name", "", "name of the container")
	fs.StringVarP(&f.user, "user", "u", "", "user (name|uid[:group|gid])")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "container host name")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "override the image's entrypoint")
	stringArrayVarP(fs, &f.env, "env", "e", "set an environment variable (KEY=value, or KEY to take it from here)")
	stringArrayVarP(fs, &f.envFile, "env-file", "", "read environment variables from a file")
	stringArrayVarP(fs, &f.labels, "label", "l", "set a label (key=value)")
	stringArrayVarP(fs, &f.binds, "volume", "v", "bind mount or volume (/host:/ctr[:ro], name:/ctr, /ctr)")
	stringArrayVarP(fs, &f.mounts, "mount", "", "mount (type=bind|volume|tmpfs,source=,target=,readonly)")
	stringArrayVarP(fs, &f.tmpfs, "tmpfs", "", "mount a tmpfs (/path[:options])")
	stringArrayVarP(fs, &f.ulimits, "ulimit", "", "ulimit (name=soft[:hard])")
	stringArrayVarP(fs, &f.capAdd, "cap-add", "", "add a capability")
	stringArrayVarP(fs, &f.capDrop, "cap-drop", "", "drop a capability")
	stringArrayVarP(fs, &f.securityOpt, "security-opt", "", "seccomp=unconfined|FILE, no-new-privileges, apparmor=, label=")
	stringArrayVarP(fs, &f.devices, "device", "", "add a host device (/dev/x[:/dev/y[:rwm]])")
	stringArrayVarP(fs, &f.sysctls, "sysctl", "", "set a namespaced sysctl")
	stringArrayVarP(fs, &f.logOpts, "log-opt", "", "log options (max-size=10m, max-file=3)")
	fs.StringVarP(&f.memory, "memory", "m", "", "memory limit")
	fs.StringVar(&f.memorySwap, "memory-swap", "", "memory plus swap limit (-1 unlimited)")
	fs.StringVar(&f.memoryReservation, "memory-reservation", "", "memory soft limit")
	fs.StringVar(&f.cpus, "cpus", "", "number of CPUs")
	fs.StringVarP(&f.cpuShares, "cpu-shares", "c", "", "CPU shares (relative weight)")
	fs.StringVar(&f.cpusetCPUs, "cpuset-cpus", "", "CPUs to run on (0-3, 0,1)")
	fs.StringVar(&f.cpusetMems, "cpuset-mems", "", "memory nodes (0-3, 0,1)")
	fs.StringVar(&f.pidsLimit, "pids-limit", "", "process limit (-1 unlimited)")
	fs.StringVar(&f.restart, "restart", "no", "restart policy (no, on-failure[:N], always, unless-stopped)")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "signal to stop the container")
	fs.IntVar(&f.stopTimeout, "stop-timeout", -1, "seconds to wait for stop before killing")
	fs.StringVar(&f.runtime, "runtime", "", "OCI runtime binary for this container")
	fs.StringVar(&f.pull, "pull", "missing", "pull the image before creating the container: missing, always, never")
	fs.StringVar(&f.network, "network", defaultNetwork, "network: bridge (the default network), NAME, none (loopback only), host, container:NAME|ID")
	fs.StringVar(&f.network, "net", defaultNetwork, "--network")
	_ = fs.MarkHidden("net")
	f.net.register(fs)
	fs.BoolVarP(&f.tty, "tty", "t", false, "allocate a terminal")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "keep stdin open")
	fs.BoolVar(&f.rm, "rm", false, "remove the container when it exits")
	fs.BoolVar(&f.readOnly, "read-only", false, "mount the root filesystem read-only")
	fs.BoolVar(&f.privileged, "privileged", false, "give the container every privilege")
	fs.BoolVar(&f.init_, "init", false, "run an init as PID 1 that forwards signals and reaps zombies")
	if run {
		fs.BoolVarP(&f.detach, "detach", "d", false, "run in the background and print the container ID")
	}
	// -h is --hostname, as Docker's: help is --help alone.
	fs.Bool("help", false, "print usage")
	fs.SetInterspersed(false)
}

// options turns the flags and arguments into the engine's options;
// entrypointSet says --entrypoint was given, even empty (which clears the
// image's).
func (f *runFlags) options(args []string, entrypointSet bool) (engine.CreateOptions, error) {
	o := engine.CreateOptions{Name: f.name, Image: args[0], StopSignal: f.stopSignal, Runtime: f.runtime, AutoRemove: f.rm}
	if f.stopTimeout >= 0 {
		t := f.stopTimeout
		o.StopTimeout = &t
	}
	rp, err := parseRestart(f.restart)
	if err != nil {
		return o, err
	}
	o.Restart = rp
	lo := map[string]string{}
	for _, opt := range f.logOpts {
		k, v, _ := strings.Cut(opt, "=")
		lo[k] = v
	}
	logOpts, err := logs.ParseOptions(lo)
	if err != nil {
		return o, fmt.Errorf("--log-opt: %w", err)
	}
	o.LogMaxSize, o.LogMaxFiles = logOpts.MaxSize, logOpts.MaxFiles
	env, err := readEnv(f.envFile, f.env)
	if err != nil {
		return o, err
	}
	labels := map[string]string{}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	s := ocispec.Options{
		Cmd: args[1:], Env: env, HostEnv: os.LookupEnv, User: f.user, Workdir: f.workdir, Hostname: f.hostname,
		TTY: f.tty, OpenStdin: f.interactive, ReadOnly: f.readOnly, Init: f.init_,
		Binds: f.binds, Mounts: f.mounts, Tmpfs: f.tmpfs,
		Memory: f.memory, MemorySwap: f.memorySwap, MemoryReservation: f.memoryReservation, CPUs: f.cpus,
		CPUShares: f.cpuShares, CPUSetCPUs: f.cpusetCPUs, CPUSetMems: f.cpusetMems, PidsLimit: f.pidsLimit,
		Ulimits: f.ulimits, Privileged: f.privileged, CapAdd: f.capAdd, CapDrop: f.capDrop,
		SecurityOpt: f.securityOpt, Devices: f.devices, Sysctls: f.sysctls, Labels: labels,
	}
	if f.tty {
		s.ConsoleRows, s.ConsoleCols = terminalSize()
	}
	if o.Net, err = f.net.config(f.network); err != nil {
		return o, err
	}
	if f.network == "host" {
		s.NetNS = "host"
	}
	if entrypointSet {
		ep := f.entrypoint
		s.Entrypoint = &ep
	}
	o.Spec = s
	return o, nil
}

// parseRestart parses --restart.
func parseRestart(s string) (engine.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	rp := engine.RestartPolicy{Name: name}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil {
			return rp, fmt.Errorf("--restart %s: maximum retry count must be an integer", s)
		}
		if name != "on-failure" {
			return rp, fmt.Errorf("--restart %s: maximum retry count cannot be used with restart policy '%s'", s, name)
		}
		rp.MaximumRetryCount = n
	}
	switch name {
	case "no", "always", "unless-stopped", "on-failure":
	default:
		return rp, fmt.Errorf("--restart %s: invalid restart policy", s)
	}
	return rp, nil
}

// readEnv reads --env-file files (KEY=value lines, # comments, KEY alone
// taken from here) and appends -e values.
func readEnv(files, env []string) ([]string, error) {
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.ContainsAny(strings.SplitN(line, "=", 2)[0], " \t") {
				return nil, fmt.Errorf("--env-file %s:%d: variable %q contains whitespace", f, i+1, strings.SplitN(line, "=", 2)[0])
			}
			out = append(out, line)
		}
	}
	return append(out, env...), nil
}
