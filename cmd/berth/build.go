//go:build berthfull

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth/build"
	"berth/build/buildctx"
	"berth/image"
	"berth/ship"
)

// buildFlags are `berth build`'s options (docker build's).
type buildFlags struct {
	tags      []string
	file      string
	buildArgs []string
	target    string
	noCache   bool
	pull      bool
	labels    []string
	progress  string
	quiet     bool
	iidfile   string
	network   string
}

// newBuildCommand is `berth build` (and `berth image build`).
func newBuildCommand(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | -",
		Short: "build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, g, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, `name and optionally a tag ("name:tag"); may be repeated`)
	fl.StringVarP(&f.file, "file", "f", "", `name of the Dockerfile (default "PATH/Dockerfile"; "-" reads it from stdin)`)
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
	fl.StringVar(&f.target, "target", "", "build this stage (and the stages it needs) only")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the cache when building")
	fl.BoolVar(&f.pull, "pull", false, "always look for a newer version of the base images")
	fl.StringArrayVar(&f.labels, "label", nil, "set a label on the image (KEY=VALUE)")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto, plain or tty")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the image ID")
	fl.StringVar(&f.iidfile, "iidfile", "", "write the image ID to this file")
	fl.StringVar(&f.network, "network", "default", "network of RUN steps: default, none or host")
	return cmd
}

func runBuild(cmd *cobra.Command, g *globals, f *buildFlags, path string) error {
	ctx := cmd.Context()
	switch f.progress {
	case "auto", "plain", "tty":
	default:
		return statusError{125, fmt.Errorf("invalid --progress %q: want auto, plain or tty", f.progress)}
	}
	switch f.network {
	case "default", "none", "host":
	default:
		return statusError{125, fmt.Errorf("invalid --network %q: want default, none or host", f.network)}
	}
	if path == "-" && f.file == "-" {
		return statusError{125, errors.New("invalid argument: can't use stdin for both build context and dockerfile")}
	}
	for _, t := range f.tags {
		if ref, err := image.ParseRef(t); err != nil || ref.Digest() != "" {
			return statusError{125, fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: invalid reference format", t)}
		}
	}
	args, err := build.ParseBuildArgs(f.buildArgs, os.LookupEnv)
	if err != nil {
		return statusError{125, err}
	}
	labels := map[string]string{}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return statusError{125, fmt.Errorf("invalid label %q", l)}
		}
		labels[k] = v
	}
	e, err := g.openEngine(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	images := e.Images()
	var bctx *buildctx.Context
	if path == "-" {
		tmp := filepath.Join(images.Root(), "build", "tmp")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return err
		}
		bctx, err = buildctx.FromTar(ctx, os.Stdin, tmp)
	} else {
		bctx, err = buildctx.Open(ctx, path)
	}
	if err != nil {
		return statusError{1, fmt.Errorf("unable to prepare context: %w", err)}
	}
	defer bctx.Close()
	if path != "-" {
		// File digests remembered across builds of this directory: a
		// warm rebuild then reads no unchanged file. Without it (an
		// unwritable root, say) every file is hashed again.
		if err := bctx.SetHashCache(filepath.Join(images.Root(), "build", "hashcache")); err != nil {
			slog.Debug("build: no hash cache", "err", err)
		}
	}
	name := f.file
	var text []byte
	if name == "-" {
		text, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
		name = "Dockerfile"
	} else {
		// docker build reads a relative -f from the current directory,
		// not the context's (a tar context on stdin has no other).
		if name != "" && path != "-" && !filepath.IsAbs(name) {
			if name, err = filepath.Abs(name); err != nil {
				return statusError{1, fmt.Errorf("failed to read dockerfile: %w", err)}
			}
		}
		text, err = bctx.Dockerfile(name)
		if name == "" {
			name = "Dockerfile"
		}
	}
	if err != nil {
		return statusError{1, fmt.Errorf("failed to read dockerfile: %w", err)}
	}
	var prog *build.Progress
	switch {
	case f.quiet:
		prog = build.NewProgress(io.Discard)
	case f.progress == "tty" || f.progress == "auto" && term.IsTerminal(int(os.Stderr.Fd())):
		width, _, _ := term.GetSize(int(os.Stderr.Fd()))
		prog = build.NewTTYProgress(os.Stderr, width)
	default:
		prog = build.NewProgress(os.Stderr)
	}
	b := build.New(images, runtimeBinary(g))
	watchDone := func() {}
	b.BeforeFirstStep = func() { watchDone = startBuildWatcher(g) }
	defer func() { watchDone() }()
	// A base image missing from the store (every base, with --pull) comes
	// from its registry, as docker build does.
	b.Pull = func(ctx context.Context, name string) error {
		ref, err := image.ParseRef(name)
		if err != nil {
			return err
		}
		c, err := shipClient()
		if err != nil {
			return err
		}
		_, err = c.Pull(ctx, images, ref, ship.PullOptions{Progress: progressFor(os.Stderr, f.quiet)})
		return err
	}
	res, err := b.Build(ctx, build.Options{
		Dockerfile: text, DockerfileName: filepath.Base(name), Context: bctx, Tags: f.tags, BuildArgs: args,
		Target: f.target, NoCache: f.noCache, Pull: f.pull, Labels: labels, Network: f.network,
		Progress: prog,
	})
	prog.Close()
	if err != nil {
		return statusError{1, fmt.Errorf("failed to solve: %w", err)}
	}
	if f.iidfile != "" {
		if err := os.WriteFile(f.iidfile, []byte(res.ID.String()), 0o644); err != nil {
			return statusError{1, fmt.Errorf("write --iidfile: %w", err)}
		}
	}
	if f.quiet {
		fmt.Fprintln(cmd.OutOrStdout(), res.ID.String())
	}
	return nil
}
