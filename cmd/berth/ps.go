package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/engine"
)

// psRow is one line of `berth ps`; its fields are the --format template's.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Status, Ports, Names, Size, State string
	Labels                                                                       string

	c *engine.Container
}

func newPsCommand(g *globals, use string) *cobra.Command {
	var all, quiet, noTrunc, size, latest bool
	var format string
	var filters []string
	var last int
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "list containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			list, err := e.List(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			var rows []psRow
			for _, c := range list {
				if !all && !c.State.Running && !c.State.Restarting && last < 0 && !latest {
					continue
				}
				r := psRow{ID: c.ShortID(), Image: c.Image, Names: c.Name, State: string(c.State.Status),
					CreatedAt:  c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
					RunningFor: since(c.Created, now), Status: statusText(c, now), Ports: psPorts(e, c), c: c}
				command := strings.Join(append([]string{c.Path}, c.Args...), " ")
				if noTrunc {
					r.ID = c.ID
					r.Command = `"` + command + `"`
				} else {
					if len(command) > 20 {
						command = command[:19] + "…"
					}
					r.Command = `"` + command + `"`
				}
				var labels []string
				for k, v := range c.Labels {
					labels = append(labels, k+"="+v)
				}
				r.Labels = strings.Join(labels, ",")
				rows = append(rows, r)
			}
			// Filtered first, then the last n, as Docker.
			rows, err = filterContainers(rows, filters)
			if err != nil {
				return err
			}
			if latest {
				last = 1
			}
			if last > 0 && len(rows) > last {
				rows = rows[:last]
			}
			if quiet {
				for _, r := range rows {
					fmt.Println(r.ID)
				}
				return nil
			}
			header := map[string]string{"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
				"RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "State": "STATE", "Labels": "LABELS"}
			table := "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
			if size {
				table += "\t{{.Size}}"
				for i := range rows {
					rows[i].Size = humanSize(e.RootfsSize(cmd.Context(), rows[i].c.ID))
				}
			}
			return printRows(os.Stdout, format, table, header, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&quiet, "quiet", "q", false, "only show container IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	f.BoolVarP(&size, "size", "s", false, "show the size of each container's changes")
	f.BoolVarP(&latest, "latest", "l", false, "show the latest created container")
	f.IntVarP(&last, "last", "n", -1, "show n last created containers")
	f.StringVar(&format, "format", "", `"table", "json", or a Go template`)
	f.StringArrayVarP(&filters, "filter", "f", nil, "filter output (id=, name=, label=, status=, ancestor=, exited=)")
	return cmd
}

// statusText is Docker's STATUS column.
func statusText(c *engine.Container, now time.Time) string {
	st := c.State
	switch st.Status {
	case engine.StatusRunning:
		return "Up " + strings.TrimSuffix(since(st.StartedAt, now), " ago")
	case engine.StatusPaused:
		return "Up " + strings.TrimSuffix(since(st.StartedAt, now), " ago") + " (Paused)"
	case engine.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s", st.ExitCode, since(st.FinishedAt, now))
	case engine.StatusExited:
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s", st.ExitCode, since(st.FinishedAt, now))
	}
	return "Created"
}

// filterContainers applies Docker's `ps --filter` rules.
func filterContainers(rows []psRow, filters []string) ([]psRow, error) {
	var out []psRow
	for _, r := range rows {
		keep := true
		for _, f := range filters {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("--filter %q: want key=value", f)
			}
			switch k {
			case "id":
				keep = keep && strings.HasPrefix(r.c.ID, v)
			case "name":
				keep = keep && strings.Contains(r.c.Name, v)
			case "status":
				keep = keep && string(r.c.State.Status) == v
			case "ancestor":
				keep = keep && (r.c.Image == v || strings.HasPrefix(r.c.ImageID, "sha256:"+v) || r.c.ImageID == v)
			case "exited":
				keep = keep && r.c.State.Status == engine.StatusExited && fmt.Sprint(r.c.State.ExitCode) == v
			case "label":
				lk, lv, hasV := strings.Cut(v, "=")
				got, ok := r.c.Labels[lk]
				keep = keep && ok && (!hasV || got == lv)
			default:
				return nil, fmt.Errorf("--filter %q: unknown filter %q", f, k)
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out, nil
}
