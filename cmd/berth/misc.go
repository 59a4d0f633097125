package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"berth/engine"
)

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "show berth's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Printf("berth:\n Version:\t%s\n Go version:\t%s\n OS/Arch:\t%s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			rt := g.runtime
			if rt == "" {
				self, _ := os.Executable()
				rt = filepath.Join(filepath.Dir(self), "berth-runtime")
			}
			if out, err := exec.Command(rt, "--version").Output(); err == nil {
				fmt.Printf("Runtime:\n Path:\t%s\n Version:\t%s\n", rt, strings.TrimSpace(string(out)))
			}
			return nil
		},
	}
}

func newInfoCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "show berth's configuration and counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			list, err := e.List(ctx)
			if err != nil {
				return err
			}
			var running, paused, stopped int
			for _, c := range list {
				switch {
				case c.State.Paused:
					paused++
				case c.State.Running:
					running++
				default:
					stopped++
				}
			}
			imgs, err := e.Images().List(ctx)
			if err != nil {
				return err
			}
			_, snap := e.Images().Snapshots()
			var uts unix.Utsname
			_ = unix.Uname(&uts)
			cg := "1"
			var st unix.Statfs_t
			if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
				cg = "2"
			}
			var si unix.Sysinfo_t
			_ = unix.Sysinfo(&si)
			tw := tabwriter.NewWriter(os.Stdout, 0, 1, 1, ' ', 0)
			fmt.Fprintf(tw, "Containers:\t%d\n Running:\t%d\n Paused:\t%d\n Stopped:\t%d\n", len(list), running, paused, stopped)
			fmt.Fprintf(tw, "Images:\t%d\nServer Version:\t%s\nStorage Driver:\t%s\nLogging Driver:\tjson-file\n", len(imgs), version, snap)
			fmt.Fprintf(tw, "Cgroup Version:\t%s\nKernel Version:\t%s\nCPUs:\t%d\nTotal Memory:\t%s\nBerth Root Dir:\t%s\n",
				cg, unix.ByteSliceToString(uts.Release[:]), runtime.NumCPU(), humanSize(int64(si.Totalram)*int64(si.Unit)), g.root)
			return tw.Flush()
		},
	}
}

func newAttachCommand(g *globals) *cobra.Command {
	var noStdin bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "attach this terminal to a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := e.Lookup(ctx, args[0])
			if err != nil {
				return err
			}
			if err := checkTTY(c.OpenStdin && !noStdin, c.TTY); err != nil {
				return err
			}
			keys, err := parseDetachKeys(detachKeys)
			if err != nil {
				return err
			}
			conn, err := e.Attach(ctx, c)
			if err != nil {
				return err
			}
			s := &session{conn: conn, stdin: c.OpenStdin && !noStdin, tty: c.TTY, detachKeys: keys}
			s.forward = func(sig unix.Signal) { _ = e.Signal(context.WithoutCancel(ctx), c.ID, sig) }
			r := s.run()
			if r.detached {
				return nil
			}
			code := r.code
			if !r.exited {
				// The connection ended without an exit frame: ask the
				// engine, as Docker's attach ends with the container's status.
				if code, err = e.Wait(context.WithoutCancel(ctx), c.ID); err != nil {
					return err
				}
			}
			if code != 0 {
				return statusError{code, silentExit{}}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach stdin")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "keys that detach from the container")
	return cmd
}

func newUpdateCommand(g *globals) *cobra.Command {
	var memory, memorySwap, cpus, cpuShares, cpusetCPUs, pidsLimit string
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "change the resource limits of running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rargs []string
			add := func(flag, v string) { rargs = append(rargs, "--"+flag, v) }
			if memory != "" {
				add("memory", memory)
			}
			if memorySwap != "" {
				add("memory-swap", memorySwap)
			}
			if cpus != "" {
				f, err := strconv.ParseFloat(cpus, 64)
				if err != nil || f <= 0 {
					return fmt.Errorf("invalid argument %q for \"--cpus\" flag", cpus)
				}
				add("cpu-period", "100000")
				add("cpu-quota", strconv.FormatInt(int64(f*100000), 10))
			}
			if cpuShares != "" {
				add("cpu-shares", cpuShares)
			}
			if cpusetCPUs != "" {
				add("cpuset-cpus", cpusetCPUs)
			}
			if pidsLimit != "" {
				add("pids-limit", pidsLimit)
			}
			if len(rargs) == 0 {
				return fmt.Errorf("you must provide one or more flags when using this command")
			}
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if err := e.Update(cmd.Context(), ref, rargs); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&memory, "memory", "m", "", "memory limit")
	f.StringVar(&memorySwap, "memory-swap", "", "memory plus swap limit (-1 unlimited)")
	f.StringVar(&cpus, "cpus", "", "number of CPUs")
	f.StringVarP(&cpuShares, "cpu-shares", "c", "", "CPU shares")
	f.StringVar(&cpusetCPUs, "cpuset-cpus", "", "CPUs to run on")
	f.StringVar(&pidsLimit, "pids-limit", "", "process limit (-1 unlimited)")
	return cmd
}

func newStatsCommand(g *globals) *cobra.Command {
	var noStream, all bool
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "show containers' resource usage (live, or once with --no-stream)",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			pick := func() ([]*engine.Container, error) {
				if len(args) > 0 {
					var out []*engine.Container
					for _, a := range args {
						c, err := e.Lookup(ctx, a)
						if err != nil {
							return nil, err
						}
						out = append(out, c)
					}
					return out, nil
				}
				list, err := e.List(ctx)
				var out []*engine.Container
				for _, c := range list {
					if all || c.State.Running {
						out = append(out, c)
					}
				}
				return out, err
			}
			prev := map[string]engine.Stats{}
			prevAt := time.Now()
			for first := true; ; first = false {
				list, err := pick()
				if err != nil {
					return err
				}
				now := time.Now()
				cur := map[string]engine.Stats{}
				for _, c := range list {
					if s, err := e.Stats(ctx, c); err == nil {
						cur[c.ID] = s
					}
				}
				if first {
					// CPU % needs two samples.
					prev, prevAt = cur, now
					time.Sleep(500 * time.Millisecond)
					continue
				}
				if !noStream {
					fmt.Print("\033[2J\033[H")
				}
				tw := tabwriter.NewWriter(os.Stdout, 10, 1, 3, ' ', 0)
				fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
				for _, c := range list {
					s, ok := cur[c.ID]
					if !ok {
						fmt.Fprintf(tw, "%s\t%s\t--\t-- / --\t--\t--\t--\t--\n", c.ShortID(), c.Name)
						continue
					}
					cpu := 0.0
					if p, ok := prev[c.ID]; ok && s.CPUTotalNs >= p.CPUTotalNs {
						cpu = 100 * float64(s.CPUTotalNs-p.CPUTotalNs) / float64(now.Sub(prevAt).Nanoseconds())
					}
					limit := s.MemLimit
					if limit == 0 || limit > 1<<62 {
						var si unix.Sysinfo_t
						_ = unix.Sysinfo(&si)
						limit = uint64(si.Totalram) * uint64(si.Unit)
					}
					fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%s / %s\t%.2f%%\t0B / 0B\t%s / %s\t%d\n", c.ShortID(), c.Name, cpu,
						humanSize(int64(s.MemUsage)), humanSize(int64(limit)), 100*float64(s.MemUsage)/float64(limit),
						humanSize(int64(s.BlkRead)), humanSize(int64(s.BlkWrite)), s.PidsCurrent)
				}
				tw.Flush()
				if noStream {
					return nil
				}
				prev, prevAt = cur, now
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "all containers (default: running)")
	return cmd
}
