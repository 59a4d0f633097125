//go:build berthfull

package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth/image"
	"berth/internal/config"
	"berth/ship"
	"berth/ship/auth"
)

// shipClient is the registry client, set up from berth's configuration
// file (insecure registries, mirrors, certificates) and the user's
// Docker credentials.
func shipClient() (*ship.Client, error) {
	c, err := config.Load("")
	if err != nil {
		return nil, err
	}
	o := ship.FromConfig(c)
	o.Keychain = auth.NewKeychain("")
	return ship.New(o), nil
}

// openShip opens the image store and the registry client, for pull and
// push; the caller closes the store.
func (g *globals) openShip(ctx context.Context) (*image.Store, *ship.Client, error) {
	s, err := g.openImages(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := shipClient()
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, c, nil
}

// progressFor reports to w: bars on a terminal, Docker's lines
// otherwise, nothing when quiet.
func progressFor(w *os.File, quiet bool) *ship.Progress {
	switch {
	case quiet:
		return ship.NewProgress(io.Discard, ship.ProgressQuiet)
	case term.IsTerminal(int(w.Fd())):
		return ship.NewProgress(w, ship.ProgressBars)
	}
	return ship.NewProgress(w, ship.ProgressLines)
}

// newPullForRunCommand is the hidden command berth's run and create
// start to pull their image once they found they must (the lean berth has
// no registry client).
func newPullForRunCommand(g *globals) *cobra.Command {
	var policy string
	cmd := &cobra.Command{
		Use:    pullForRunUse,
		Short:  "pull the image of run or create (started by them)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openImages(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			// berth checked that it must (pullNeeded).
			return pullImage(cmd.Context(), s, policy, args[0])
		},
	}
	cmd.Flags().StringVar(&policy, "pull", "missing", "missing, always or never")
	return cmd
}

func newPullCommand(g *globals) *cobra.Command {
	var allTags, quiet bool
	var platform string
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ref, err := image.ParseRef(args[0])
			if err != nil {
				return err
			}
			o := ship.PullOptions{Progress: progressFor(os.Stdout, quiet)}
			if platform != "" {
				p, err := image.ParsePlatform(platform)
				if err != nil {
					return err
				}
				o.Platform = &p
			}
			if allTags && (ref.Digest() != "" || cmd.Flags().Changed("all-tags") && hasTag(args[0])) {
				return statusError{1, errInvalid("tag can't be used with --all-tags/-a")}
			}
			s, c, err := g.openShip(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			refs := []image.Ref{ref}
			if allTags {
				tags, err := c.Tags(ctx, ref)
				if err != nil {
					return err
				}
				refs = refs[:0]
				for _, t := range tags {
					r, err := ref.WithTag(t)
					if err != nil {
						return err
					}
					refs = append(refs, r)
				}
			}
			newer := false
			for _, r := range refs {
				res, err := c.Pull(ctx, s, r, o)
				if err != nil {
					return err
				}
				newer = newer || !res.UpToDate
				if !allTags {
					pullStatus(quiet, r, res.UpToDate)
				}
			}
			if allTags {
				repo, _ := ref.WithTag("latest")
				if !quiet {
					if newer {
						fmt.Printf("Status: Downloaded newer images for %s\n", ref.Repository())
					} else {
						fmt.Printf("Status: Image is up to date for %s\n", ref.Repository())
					}
				}
				fmt.Println(displayRepoName(repo))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&allTags, "all-tags", "a", false, "download every tag of the repository")
	f.StringVar(&platform, "platform", "", "platform to pull for an index: os/arch[/variant]")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the image's name")
	return cmd
}

// hasTag tells whether the user's argument names a tag.
func hasTag(arg string) bool {
	for i := len(arg) - 1; i >= 0; i-- {
		switch arg[i] {
		case ':':
			return true
		case '/':
			return false
		}
	}
	return false
}

// pullStatus prints Docker's closing lines of a pull.
func pullStatus(quiet bool, r image.Ref, upToDate bool) {
	if !quiet {
		if upToDate {
			fmt.Printf("Status: Image is up to date for %s\n", r.Familiar())
		} else {
			fmt.Printf("Status: Downloaded newer image for %s\n", r.Familiar())
		}
	}
	fmt.Println(r.String())
}

// displayRepoName is a reference's full name without its tag.
func displayRepoName(r image.Ref) string {
	s := r.String()
	if t := r.Tag(); t != "" {
		return s[:len(s)-len(t)-1]
	}
	return s
}

// pullForRun pulls the image of `run` or `create` as --pull says:
// "missing" (the default) when it is not here, "always", or "never".
// The progress goes to standard error, as Docker's. s is the engine's
// image store: one store opened per command.
func pullForRun(ctx context.Context, _ *globals, s *image.Store, policy, arg string) error {
	if need, err := pullNeeded(ctx, s, policy, arg); !need {
		return err
	}
	return pullImage(ctx, s, policy, arg)
}

// pullImage pulls arg for run or create, which found it must (pullNeeded;
// policy words its messages).
func pullImage(ctx context.Context, s *image.Store, policy, arg string) error {
	ref, err := image.ParseRef(arg)
	if err != nil {
		return err
	}
	if policy == "missing" {
		fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", ref.Familiar())
	}
	c, err := shipClient()
	if err != nil {
		return err
	}
	res, err := c.Pull(ctx, s, ref, ship.PullOptions{Progress: progressFor(os.Stderr, false)})
	if err != nil && policy == "missing" {
		return fmt.Errorf("%s: %w, and it could not be pulled: %w", ref.Familiar(), image.ErrNotFound, err)
	}
	if err != nil {
		return err
	}
	if res.UpToDate {
		fmt.Fprintf(os.Stderr, "Status: Image is up to date for %s\n", ref.Familiar())
	} else {
		fmt.Fprintf(os.Stderr, "Status: Downloaded newer image for %s\n", ref.Familiar())
	}
	return nil
}
