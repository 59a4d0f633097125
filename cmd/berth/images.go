package main

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/image"
)

// imageRow is one line of `berth images`; its fields are the --format
// template's.
type imageRow struct {
	Repository   string
	Tag          string
	ID           string
	Digest       string
	CreatedSince string
	CreatedAt    string
	Size         string

	created time.Time
	labels  map[string]string
	fullID  string
}

func newImagesCommand(g *globals, use string) *cobra.Command {
	var (
		quiet, digests, noTrunc bool
		format                  string
		filters                 []string
	)
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "list images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			imgs, err := s.List(ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			var rows []imageRow
			for _, img := range imgs {
				sum, err := s.Summarize(ctx, img)
				if err != nil {
					fmt.Fprintf(os.Stderr, "warning: %s: %v\n", img.Name.Familiar(), err)
					continue
				}
				id := sum.ID.Encoded()
				full := sum.ID.String()
				if !noTrunc {
					id = id[:12]
				} else {
					id = full
				}
				tag := img.Name.Tag()
				if tag == "" {
					tag = "<none>"
				}
				rows = append(rows, imageRow{
					Repository: img.Name.Repository(), Tag: tag, ID: id, Digest: img.Target.Digest.String(),
					CreatedSince: since(sum.Created, now), CreatedAt: sum.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
					Size: humanSize(sum.Size), created: sum.Created, labels: sum.Config.Config.Labels, fullID: full,
				})
			}
			if len(args) == 1 {
				filters = append(filters, "reference="+args[0])
			}
			if rows, err = filterImages(rows, filters); err != nil {
				return err
			}
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].created.After(rows[j].created) })
			if quiet {
				seen := map[string]bool{}
				for _, r := range rows {
					if !seen[r.ID] {
						fmt.Println(r.ID)
						seen[r.ID] = true
					}
				}
				return nil
			}
			table := "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
			if digests {
				table = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
			}
			header := map[string]string{"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST",
				"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE"}
			return printRows(os.Stdout, format, table, header, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&digests, "digests", false, "show digests")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	f.StringVar(&format, "format", "", `"table", "json", or a Go template`)
	f.StringArrayVarP(&filters, "filter", "f", nil, "filter output (reference=, label=, before=, since=, dangling=)")
	f.BoolP("all", "a", false, "show all images (berth has no intermediate images: same as the default)")
	return cmd
}

// filterImages applies Docker's `images --filter` rules: filters of one
// key are alternatives, different keys must all match.
func filterImages(rows []imageRow, filters []string) ([]imageRow, error) {
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--filter %q: want key=value", f)
		}
		switch k {
		case "reference", "label", "before", "since", "dangling":
		default:
			return nil, fmt.Errorf("--filter %q: unknown filter %q", f, k)
		}
		byKey[k] = append(byKey[k], v)
	}
	bound := func(name string) (time.Time, error) {
		for _, r := range rows {
			if r.Repository+":"+r.Tag == name || r.Repository == name || r.ID == name || strings.HasPrefix(r.fullID, "sha256:"+name) {
				return r.created, nil
			}
		}
		return time.Time{}, fmt.Errorf("--filter: no such image %q", name)
	}
	var out []imageRow
	for _, r := range rows {
		keep := true
		for k, vals := range byKey {
			any := false
			for _, v := range vals {
				switch k {
				case "reference":
					m1, _ := path.Match(v, r.Repository)
					m2, _ := path.Match(v, r.Repository+":"+r.Tag)
					any = any || m1 || m2
				case "label":
					lk, lv, hasV := strings.Cut(v, "=")
					got, ok := r.labels[lk]
					any = any || ok && (!hasV || got == lv)
				case "dangling":
					any = any || (v == "true") == (r.Tag == "<none>")
				case "before", "since":
					t, err := bound(v)
					if err != nil {
						return nil, err
					}
					any = any || k == "before" && r.created.Before(t) || k == "since" && r.created.After(t)
				}
			}
			keep = keep && any
		}
		if keep {
			out = append(out, r)
		}
	}
	return out, nil
}

// resolveOne resolves an image argument to exactly one image.
func resolveOne(cmd *cobra.Command, s *image.Store, arg string) (image.Image, error) {
	imgs, err := s.Resolve(cmd.Context(), arg)
	if err != nil {
		return image.Image{}, err
	}
	return imgs[0], nil
}
