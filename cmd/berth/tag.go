package main

import (
	"github.com/spf13/cobra"

	"berth/image"
)

func newTagCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			img, err := resolveOne(cmd, s, args[0])
			if err != nil {
				return err
			}
			ref, err := image.ParseRef(args[1])
			if err != nil {
				return err
			}
			if ref.Digest() != "" {
				return statusError{1, errInvalid("refusing to create a tag with a digest reference")}
			}
			if err := s.Tag(ctx, ref, img.Target); err != nil {
				return err
			}
			imageEvent(ctx, s, img, "tag", ref.Familiar())
			return nil
		},
	}
}
