package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"berth/image"
)

// confirm asks the question Docker's prune commands ask, unless forced.
func confirm(force bool, question string) bool {
	if force {
		return true
	}
	fmt.Fprint(os.Stderr, question+"\nAre you sure you want to continue? [y/N] ")
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(line), "y")
}

// pruneImages removes the images without a name (with all, every image)
// that no container uses, then collects what nothing reaches, and prints
// Docker's report.
func pruneImages(ctx context.Context, s *image.Store, all bool) error {
	rootfses, err := s.Rootfses(ctx)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, r := range rootfses {
		used[r.ImageID] = true
	}
	imgs, err := s.List(ctx)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if !all && !img.Dangling() {
			continue
		}
		id, err := s.ID(ctx, img)
		if err == nil && used[id.String()] {
			continue
		}
		if err := s.Untag(ctx, img); err != nil {
			return err
		}
		if img.Dangling() {
			fmt.Println("deleted:", id)
		} else {
			fmt.Println("untagged:", img.Name.Familiar())
		}
	}
	rep, err := s.GC(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\nTotal reclaimed space: %s\n", humanSize(rep.Bytes()))
	return nil
}

// newPruneCommand is `image prune` and, until the engine has containers
// and networks to prune as well, `system prune`: the same work, Docker's
// two warnings.
func newPruneCommand(g *globals, short, warning, warningAll string) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := warning
			if all {
				q = warningAll
			}
			if !confirm(force, q) {
				return nil
			}
			s, err := g.openImages(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			return pruneImages(cmd.Context(), s, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all images no container uses, not just those without a name")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

func newImagePruneCommand(g *globals) *cobra.Command {
	return newPruneCommand(g, "remove unused images and the content nothing uses",
		"WARNING! This will remove all dangling images.",
		"WARNING! This will remove all images without at least one container associated to them.")
}

func newSystemPruneCommand(g *globals) *cobra.Command {
	return newPruneCommand(g, "remove unused data",
		"WARNING! This will remove:\n  - all dangling images",
		"WARNING! This will remove:\n  - all images without at least one container associated to them")
}
