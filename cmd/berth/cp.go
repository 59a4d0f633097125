package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"berth/engine"
	ctrcopy "berth/engine/copy"
)

func newCpCommand(g *globals) *cobra.Command {
	var follow, archive bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "copy files between a container and the host",
		Long: "Copy files between a container's filesystem and the host. Paths in the container are resolved " +
			"inside it: symlinks that point out of it, or are swapped in during the copy, cannot reach the host " +
			"(CVE-2018-15664), and no program of the container is run (CVE-2019-14271).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			srcCtr, srcPath := ctrcopy.ParseCopyArg(args[0])
			dstCtr, dstPath := ctrcopy.ParseCopyArg(args[1])
			switch {
			case srcCtr != "" && dstCtr != "":
				return errors.New("copying between containers is not supported")
			case srcCtr == "" && dstCtr == "":
				return errors.New("must specify at least one container source")
			}
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			if srcCtr != "" {
				return emitAfterRef(ctx, e, srcCtr, "archive-path", copyFrom(ctx, e, srcCtr, srcPath, dstPath, follow, args[0]))
			}
			return emitAfterRef(ctx, e, dstCtr, "extract-to-dir", copyTo(ctx, e, srcPath, dstCtr, dstPath, follow, archive, args[1]))
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow-link", "L", false, "follow a symbolic link in SRC_PATH")
	cmd.Flags().BoolVarP(&archive, "archive", "a", false, "archive mode (keep uid/gid: berth gives the files to the container's root)")
	return cmd
}

func rootfsOf(ctx context.Context, e *engine.Engine, ref string) (string, error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return "", err
	}
	return e.Rootfs(ctx, c)
}

func copyFrom(ctx context.Context, e *engine.Engine, ctr, src, dst string, follow bool, arg string) error {
	rootfs, err := rootfsOf(ctx, e, ctr)
	if err != nil {
		return err
	}
	if dst == "-" {
		_, err := ctrcopy.FromContainerWith(ctx, rootfs, src, os.Stdout, ctrcopy.FromOptions{FollowLink: follow})
		return notFound(err, arg)
	}
	st, err := ctrcopy.StatPath(ctx, rootfs, src)
	if err != nil {
		return notFound(err, arg)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := ctrcopy.FromContainerWith(ctx, rootfs, src, pw, ctrcopy.FromOptions{FollowLink: follow})
		pw.CloseWithError(err)
	}()
	if err := ctrcopy.ExtractHost(ctx, pr, st.Source(), dst, ctrcopy.HostOptions{}); err != nil {
		pr.CloseWithError(err)
		return notFound(err, arg)
	}
	return nil
}

func copyTo(ctx context.Context, e *engine.Engine, src, ctr, dst string, follow, archive bool, arg string) error {
	rootfs, err := rootfsOf(ctx, e, ctr)
	if err != nil {
		return err
	}
	o := ctrcopy.ToOptions{NoOverwriteDirNonDir: true, CopyUIDGID: archive}
	if src == "-" {
		return notFound(ctrcopy.ToContainer(ctx, rootfs, dst, os.Stdin, o), arg)
	}
	if _, err := os.Lstat(src); err != nil {
		return fmt.Errorf("lstat %s: %w", filepath.Clean(src), err)
	}
	pr, pw := io.Pipe()
	srcInfo := make(chan ctrcopy.Source, 1)
	go func() {
		s, err := ctrcopy.TarHost(ctx, pw, src, follow)
		srcInfo <- s
		pw.CloseWithError(err)
	}()
	// The source's shape is known from the host path itself (a symlink is
	// copied as one unless -L).
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	st, err := stat(src)
	if err == nil {
		o.Source = &ctrcopy.Source{Base: filepath.Base(src), IsDir: st.IsDir()}
	}
	err = ctrcopy.ToContainer(ctx, rootfs, dst, pr, o)
	pr.CloseWithError(err)
	<-srcInfo
	return notFound(err, arg)
}

// notFound words a missing container path as Docker does.
func notFound(err error, arg string) error {
	if errors.Is(err, ctrcopy.ErrNotFound) {
		return statusError{1, fmt.Errorf("No such container:path: %s", arg)}
	}
	return err
}
