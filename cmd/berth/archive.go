package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth/image"
)

func newSaveCommand(g *globals) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "write images to a tar archive (stdout by default)",
		Long: "Write images to a tar archive. The default format holds an OCI image layout and Docker's " +
			"manifest.json, so that any Docker since 1.10, Podman, skopeo and berth load it; --format oci " +
			"writes only the OCI layout (Docker 25 and later load it).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := image.ParseSaveFormat(format)
			if err != nil {
				return err
			}
			if output == "" && term.IsTerminal(int(os.Stdout.Fd())) {
				return statusError{1, errInvalid("cowardly refusing to save to a terminal: use -o or redirect")}
			}
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			var imgs []image.Image
			for _, a := range args {
				found, err := s.Resolve(ctx, a)
				if err != nil {
					return err
				}
				imgs = append(imgs, found...)
			}
			defer imageEvents(ctx, s, imgs, "save") // Docker logs each image as it writes it, whether or not the archive completes
			if output == "" {
				return s.Save(ctx, os.Stdout, imgs, f)
			}
			// Through a temporary file, so a failed save leaves no archive.
			tmp, err := os.CreateTemp(filepath.Dir(output), ".berth-save-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			if err := s.Save(ctx, tmp, imgs, f); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Chmod(0o644); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			return os.Rename(tmp.Name(), output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file instead of stdout")
	cmd.Flags().StringVar(&format, "format", "docker", `"docker" (OCI layout plus manifest.json) or "oci"`)
	return cmd
}

func newLoadCommand(g *globals) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "load images from a tar archive (stdin by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var r io.Reader = os.Stdin
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else if term.IsTerminal(int(os.Stdin.Fd())) {
				return statusError{1, errInvalid("requested load from stdin, but stdin is empty: use -i or a pipe")}
			}
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			imgs, err := s.Load(ctx, r)
			if err != nil {
				return err
			}
			imageEvents(ctx, s, imgs, "load")
			for _, img := range imgs {
				if _, err := s.Unpack(ctx, img); err != nil {
					return err
				}
				if quiet {
					continue
				}
				if img.Dangling() {
					id, _ := s.ID(ctx, img)
					fmt.Println("Loaded image ID:", id)
				} else {
					fmt.Println("Loaded image:", img.Name.Familiar())
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from a tar archive file instead of stdin")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing")
	return cmd
}

func newImportCommand(g *globals) *cobra.Command {
	var changes []string
	var message, platform string
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		Short: "make a one-layer image from a root filesystem tarball",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o := image.ImportOptions{Changes: changes, Message: message, Source: args[0]}
			if len(args) == 2 {
				o.Ref = args[1]
			}
			if platform != "" {
				p, err := image.ParsePlatform(platform)
				if err != nil {
					return err
				}
				o.Platform = p
			}
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			img, id, err := s.Import(ctx, r, o)
			if err != nil {
				return err
			}
			importEvents(ctx, s, img, id.String())
			fmt.Println(id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)")
	f.StringVarP(&message, "message", "m", "", "commit message of the imported image")
	f.StringVar(&platform, "platform", "", "os/arch[/variant] of the image (default: this host's)")
	return cmd
}

func newBootstrapCommand(g *globals) *cobra.Command {
	var mirror string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "bootstrap busybox[:TAG] | debian[:SUITE]",
		Short: "make a base image from Debian packages (busybox-static, or debootstrap)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			o := image.BootstrapOptions{Mirror: mirror}
			if !quiet {
				o.Progress = os.Stderr
			}
			img, id, err := s.Bootstrap(ctx, args[0], o)
			if err != nil {
				return err
			}
			fmt.Printf("%s %s\n", img.Name.Familiar(), id)
			return nil
		},
	}
	cmd.Flags().StringVar(&mirror, "mirror", "", "Debian mirror for debootstrap (default: the host's apt source)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}
