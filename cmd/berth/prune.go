package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/engine"
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

// printSection prints one part of a prune report as Docker does: a
// title, a line each, a blank line; nothing when nothing was removed.
func printSection(title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Println(title)
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println()
}

// pruneContainers removes the containers that do not run (nor restart)
// and that f accepts, and returns their IDs and the space their changes
// took.
func pruneContainers(ctx context.Context, e *engine.Engine, f pruneFilter) ([]string, int64, error) {
	list, err := e.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	var removed []string
	var reclaimed int64
	for _, c := range list {
		if c.State.Running || c.State.Restarting || !f.match(c.Created, c.Labels) {
			continue
		}
		size := e.RootfsSize(ctx, c.ID)
		if err := e.Remove(ctx, c.ID, false, false); err != nil {
			// As Docker's daemon: one that cannot go does not stop the rest.
			fmt.Fprintln(os.Stderr, "Error:", err)
			continue
		}
		removed = append(removed, c.ID)
		reclaimed += size
	}
	e.EmitPrune("container", reclaimed)
	return removed, reclaimed, nil
}

// pruneImages removes the images without a name (with all, every image)
// that no container uses and that f accepts, then collects what nothing
// reaches. It returns Docker's report lines and the bytes reclaimed.
func pruneImages(ctx context.Context, s *image.Store, all bool, f pruneFilter) ([]string, int64, error) {
	rootfses, err := s.Rootfses(ctx)
	if err != nil {
		return nil, 0, err
	}
	used := map[string]bool{}
	for _, r := range rootfses {
		used[r.ImageID] = true
	}
	imgs, err := s.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	var lines []string
	for _, img := range imgs {
		if !all && !img.Dangling() {
			continue
		}
		id, err := s.ID(ctx, img)
		if err == nil && used[id.String()] {
			continue
		}
		if f.hasFilter {
			sum, err := s.Summarize(ctx, img)
			if err != nil || !f.match(sum.Created, sum.Config.Config.Labels) {
				continue
			}
		}
		if err := s.Untag(ctx, img); err != nil {
			return lines, 0, err
		}
		if img.Dangling() {
			lines = append(lines, "deleted: "+id.String())
		} else {
			lines = append(lines, "untagged: "+img.Name.Familiar())
		}
	}
	rep, err := s.GC(ctx)
	if err != nil {
		return lines, 0, err
	}
	emitPrune(s.Root(), "image", rep.Bytes())
	return lines, rep.Bytes(), nil
}

func newImagePruneCommand(g *globals) *cobra.Command {
	var all, force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "remove unused images and the content nothing uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parsePruneFilters(filters, time.Now())
			if err != nil {
				return err
			}
			q := "WARNING! This will remove all dangling images."
			if all {
				q = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !confirm(force, q) {
				return nil
			}
			s, err := g.openImages(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			lines, reclaimed, err := pruneImages(cmd.Context(), s, all, f)
			printSection("Deleted Images:", lines)
			if err != nil {
				return err
			}
			fmt.Println("Total reclaimed space:", humanSize(reclaimed))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all images no container uses, not just those without a name")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "only what matches until=<timestamp> or label=<key>[=<value>] (label!= for without)")
	return cmd
}

func newContainerPruneCommand(g *globals) *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "remove all stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parsePruneFilters(filters, time.Now())
			if err != nil {
				return err
			}
			if !confirm(force, "WARNING! This will remove all stopped containers.") {
				return nil
			}
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			removed, reclaimed, err := pruneContainers(cmd.Context(), e, f)
			if err != nil {
				return err
			}
			printSection("Deleted Containers:", removed)
			fmt.Println("Total reclaimed space:", humanSize(reclaimed))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "only containers matching until=<timestamp> or label=<key>[=<value>] (label!= for without)")
	return cmd
}

// systemPruneWarning is Docker's question for system prune.
func systemPruneWarning(all, volumes bool, filters []string) string {
	w := []string{"all stopped containers", "all networks not used by at least one container"}
	if volumes {
		w = append(w, "all anonymous volumes not used by at least one container")
	}
	if all {
		w = append(w, "all images without at least one container associated to them", "all build cache")
	} else {
		w = append(w, "all dangling images", "all dangling build cache")
	}
	var b strings.Builder
	b.WriteString("WARNING! This will remove:\n")
	for _, s := range w {
		b.WriteString("  - " + s + "\n")
	}
	if len(filters) > 0 {
		b.WriteString("\n  Items to be pruned will be filtered with:\n")
		for _, f := range filters {
			b.WriteString("  - " + f + "\n")
		}
	}
	return b.String()
}

func newSystemPruneCommand(g *globals) *cobra.Command {
	var all, force, volumes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "remove stopped containers, unused images (and anonymous volumes with --volumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := parsePruneFilters(filters, time.Now())
			if err != nil {
				return err
			}
			if volumes && !f.until.IsZero() {
				return fmt.Errorf(`the "until" filter is not supported with "--volumes"`)
			}
			if !confirm(force, systemPruneWarning(all, volumes, filters)) {
				return nil
			}
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			// Containers first: what they held is then unused.
			removed, total, err := pruneContainers(ctx, e, f)
			if err != nil {
				return err
			}
			printSection("Deleted Containers:", removed)
			if volumes {
				vols, n, err := e.VolumePrune(ctx, false, func(v engine.Volume) bool { return f.match(time.Time{}, v.Labels) })
				printSection("Deleted Volumes:", vols)
				if err != nil {
					return err
				}
				total += n
			}
			lines, n, err := pruneImages(ctx, e.Images(), all, f)
			printSection("Deleted Images:", lines)
			if err != nil {
				return err
			}
			total += n
			// No build cache yet: berth does not build.
			fmt.Println("Total reclaimed space:", humanSize(total))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "remove all images no container uses, not just those without a name")
	fl.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	fl.BoolVar(&volumes, "volumes", false, "prune anonymous volumes too")
	fl.StringArrayVar(&filters, "filter", nil, "only what matches until=<timestamp> or label=<key>[=<value>] (label!= for without)")
	return cmd
}
