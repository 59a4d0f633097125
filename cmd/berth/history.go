package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// historyRow is one line of `berth history`.
type historyRow struct {
	ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment string
}

func newHistoryCommand(g *globals) *cobra.Command {
	var (
		noTrunc, quiet, human bool
		format                string
	)
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "show the history of an image",
		Args:  cobra.ExactArgs(1),
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
			entries, err := s.History(ctx, img)
			if err != nil {
				return err
			}
			now := time.Now()
			var rows []historyRow
			for _, e := range entries {
				r := historyRow{ID: e.ID, CreatedBy: e.CreatedBy, Comment: e.Comment,
					CreatedAt: e.Created.Format(time.RFC3339), CreatedSince: since(e.Created, now)}
				if strings.HasPrefix(r.ID, "sha256:") && !noTrunc {
					r.ID = strings.TrimPrefix(r.ID, "sha256:")[:12]
				}
				if !noTrunc && len(r.CreatedBy) > 45 {
					r.CreatedBy = r.CreatedBy[:44] + "…"
				}
				if human {
					r.Size = humanSize(e.Size)
				} else {
					r.Size = strconv.FormatInt(e.Size, 10)
				}
				if !human {
					r.CreatedSince = r.CreatedAt
				}
				rows = append(rows, r)
			}
			if quiet {
				for _, r := range rows {
					os.Stdout.WriteString(r.ID + "\n")
				}
				return nil
			}
			header := map[string]string{"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
				"CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}
			return printRows(os.Stdout, format, "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", header, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	f.BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVarP(&human, "human", "H", true, "sizes and dates in human-readable form")
	f.StringVar(&format, "format", "", `"table", "json", or a Go template`)
	return cmd
}
