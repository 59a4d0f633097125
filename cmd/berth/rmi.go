package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"berth/image"
)

// errInvalid is a usage error.
type errInvalid string

func (e errInvalid) Error() string { return string(e) }

func newRmiCommand(g *globals, use string) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "remove images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			var failed []error
			for _, arg := range args {
				recordRemoval := rmiEvents(ctx, s, arg)
				untagged, err := s.Remove(ctx, arg, image.RemoveOptions{Force: force})
				recordRemoval(untagged)
				for _, n := range untagged {
					fmt.Println("Untagged:", n)
				}
				if err != nil {
					failed = append(failed, err)
				}
			}
			if !noPrune {
				rep, err := s.GC(ctx)
				if err != nil {
					failed = append(failed, err)
				}
				for _, b := range rep.Blobs {
					fmt.Println("Deleted:", b.Digest)
				}
			}
			if len(failed) > 0 {
				return statusError{1, errors.Join(failed...)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even if a container uses it or it has several names")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "keep the content the removed names used")
	return cmd
}
