//go:build berthfull

package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"berth/image"
	"berth/ship"
)

func newPushCommand(g *globals) *cobra.Command {
	var allTags, quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "upload an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ref, err := image.ParseRef(args[0])
			if err != nil {
				return err
			}
			if allTags && hasTag(args[0]) {
				return statusError{1, errInvalid("tag can't be used with --all-tags/-a")}
			}
			s, c, err := g.openShip(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			refs := []image.Ref{ref}
			if allTags {
				if refs, err = localTags(cmd, s, ref); err != nil {
					return err
				}
			}
			for _, r := range refs {
				if _, err := c.Push(ctx, s, r, ship.PushOptions{Progress: progressFor(os.Stdout, quiet)}); err != nil {
					return err
				}
				if quiet {
					// cmd.Println would write to standard error.
					fmt.Fprintln(cmd.OutOrStdout(), r.String())
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&allTags, "all-tags", "a", false, "push every tag of the repository")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the pushed name")
	return cmd
}

// localTags lists the local names of ref's repository.
func localTags(cmd *cobra.Command, s *image.Store, ref image.Ref) ([]image.Ref, error) {
	imgs, err := s.List(cmd.Context())
	if err != nil {
		return nil, err
	}
	var out []image.Ref
	repo := displayRepoName(ref)
	for _, img := range imgs {
		if img.Dangling() || img.Name.Tag() == "" {
			continue
		}
		if strings.EqualFold(displayRepoName(img.Name), repo) {
			out = append(out, img.Name)
		}
	}
	if len(out) == 0 {
		return nil, errInvalid("An image does not exist locally with the tag: " + ref.Repository())
	}
	return out, nil
}
