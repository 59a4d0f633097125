package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"berth/engine"
	"berth/engine/events"
	"berth/engine/logs"
	"berth/image"
)

// eventTimeLayout is Docker's jsonmessage.RFC3339NanoFixed.
const eventTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// newEventsCommand is `events` (and `system events`).
func newEventsCommand(g *globals) *cobra.Command {
	var since, until, format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "show berth's events as they happen (past ones too with --since)",
		Long: `Show container, image and volume events, as docker events does.

Without --until, follow new events until interrupted; with --until in the
past, print the past events and exit. Times are RFC 3339 dates or times
(local without a zone), Unix seconds (with a fraction), or durations
before now (10m, 1h30m).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Geteuid() != 0 {
				return errors.New("berth needs root (rootless mode is not implemented yet)")
			}
			o, err := eventOptions(since, until, filters, time.Now())
			if err != nil {
				return err
			}
			show, err := eventPrinter(format)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(g.root, 0o711); err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			return events.Follow(cmd.Context(), g.root, o, func(m events.Message) error {
				if err := show(w, m); err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "show events since this time")
	f.StringVar(&until, "until", "", "stop at this time")
	f.StringArrayVarP(&filters, "filter", "f", nil, "filter events: container=, image=, event=, type=, label=, volume=, ...")
	f.StringVar(&format, "format", "", "a Go template for each event ('{{json .}}': the whole message)")
	return cmd
}

// eventOptions reads --since, --until and --filter.
func eventOptions(since, until string, filters []string, now time.Time) (events.Options, error) {
	var o events.Options
	var err error
	if since != "" {
		if o.Since, err = logs.ParseTime(since, now); err != nil {
			return o, fmt.Errorf("--since: %w", err)
		}
	}
	if until != "" {
		if o.Until, err = logs.ParseTime(until, now); err != nil {
			return o, fmt.Errorf("--until: %w", err)
		}
		if !o.Since.IsZero() && o.Until.Before(o.Since) {
			return o, fmt.Errorf("`since` time (%s) cannot be after `until` time (%s)", since, until)
		}
	}
	if o.Filter, err = events.ParseFilter(filters); err != nil {
		return o, err
	}
	return o, nil
}

// eventPrinter prints an event with the template format, or as Docker's
// default line: time type action id (attributes sorted).
func eventPrinter(format string) (func(io.Writer, events.Message) error, error) {
	if format != "" {
		tmpl, err := template.New("format").Funcs(templateFuncs()).Parse(format)
		if err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		return func(w io.Writer, m events.Message) error {
			if err := tmpl.Execute(w, m); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			_, err := fmt.Fprintln(w)
			return err
		}, nil
	}
	return func(w io.Writer, m events.Message) error {
		_, err := io.WriteString(w, formatEvent(m))
		return err
	}, nil
}

// formatEvent is Docker's default line for an event.
func formatEvent(m events.Message) string {
	var b strings.Builder
	if m.TimeNano != 0 || m.Time != 0 {
		b.WriteString(m.When().Format(eventTimeLayout) + " ")
	}
	fmt.Fprintf(&b, "%s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]string, len(keys))
		for i, k := range keys {
			attrs[i] = k + "=" + m.Actor.Attributes[k]
		}
		b.WriteString(" (" + strings.Join(attrs, ", ") + ")")
	}
	b.WriteString("\n")
	return b.String()
}

// emitAfter records the container event action when err is nil (the
// operation succeeded), and returns err.
func emitAfter(e *engine.Engine, c *engine.Container, action string, err error) error {
	if err == nil {
		e.Emit(c, action, nil)
	}
	return err
}

// emitAfterRef is emitAfter for a container named by ref.
func emitAfterRef(ctx context.Context, e *engine.Engine, ref, action string, err error) error {
	if err == nil {
		if c, lerr := e.Lookup(ctx, ref); lerr == nil {
			e.Emit(c, action, nil)
		}
	}
	return err
}

// imageEvent records an image event as Docker's: the image ID
// (sha256:...) as the actor, the image's labels, and name (a reference,
// or the ID again for untag, delete, load, save and import).
func imageEvent(ctx context.Context, s *image.Store, img image.Image, action, name string) {
	id, labels := imageIDLabels(ctx, s, img)
	if id == "" {
		return
	}
	emitImageEvent(s.Root(), id, labels, action, name)
}

// imageIDLabels is an image's ID and labels ("" if it cannot be read).
func imageIDLabels(ctx context.Context, s *image.Store, img image.Image) (string, map[string]string) {
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		return "", nil
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		return m.Config.Digest.String(), nil
	}
	return m.Config.Digest.String(), cfg.Config.Labels
}

// emitImageEvent writes an image event under root; a failure is logged.
func emitImageEvent(root, id string, labels map[string]string, action, name string) {
	attrs := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		attrs[k] = v
	}
	if name != "" {
		attrs["name"] = name
	}
	if err := events.Append(root, events.New(events.TypeImage, action, id, attrs, time.Now())); err != nil {
		slog.Warn("record an event", "type", "image", "action", action, "id", id, "error", err)
	}
}

// imageEvents records action once per image ID of imgs (load, save),
// with the ID as the name, as Docker's.
func imageEvents(ctx context.Context, s *image.Store, imgs []image.Image, action string) {
	seen := map[string]bool{}
	for _, img := range imgs {
		id, labels := imageIDLabels(ctx, s, img)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		emitImageEvent(s.Root(), id, labels, action, id)
	}
}

// commitEvents records a commit as Docker's: the new name's image "tag"
// (when it has one), then the container's "commit".
func commitEvents(ctx context.Context, e *engine.Engine, c *engine.Container, img image.Image, id, comment string) {
	ref := ""
	if !img.Dangling() {
		ref = img.Name.Familiar()
		imageEvent(ctx, e.Images(), img, "tag", ref)
	}
	e.Emit(c, "commit", map[string]string{"comment": comment, "imageID": id, "imageRef": ref})
}

// rmiEvents reads what the image arg names before rmi removes it, and
// returns what records Docker's events afterwards: an "untag" per name
// removed, then "delete" if the image is gone.
func rmiEvents(ctx context.Context, s *image.Store, arg string) func(untagged []string) {
	imgs, err := s.Resolve(ctx, arg)
	if err != nil {
		return func([]string) {}
	}
	id, labels := imageIDLabels(ctx, s, imgs[0])
	return func(untagged []string) {
		if id == "" || len(untagged) == 0 {
			return
		}
		for range untagged {
			emitImageEvent(s.Root(), id, labels, "untag", id)
		}
		if _, err := s.Resolve(ctx, id); err != nil {
			emitImageEvent(s.Root(), id, nil, "delete", id)
		}
	}
}

// importEvents records an import as Docker's: "tag" for the name given,
// then "import" with the ID as the name.
func importEvents(ctx context.Context, s *image.Store, img image.Image, id string) {
	if !img.Dangling() {
		imageEvent(ctx, s, img, "tag", img.Name.Familiar())
	}
	_, labels := imageIDLabels(ctx, s, img)
	emitImageEvent(s.Root(), id, labels, "import", id)
}

// renameWithEvent renames a container and records Docker's "rename"
// event (attribute oldName, with its leading "/").
func renameWithEvent(ctx context.Context, e *engine.Engine, ref, name string) error {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	if err := e.Rename(ctx, c.ID, name); err != nil {
		return err
	}
	old := c.Name
	if cur, err := e.Lookup(ctx, c.ID); err == nil {
		c = cur
	}
	e.Emit(c, "rename", map[string]string{"oldName": "/" + strings.TrimPrefix(old, "/")})
	return nil
}

// emitPrune records a prune of typ with the bytes it reclaimed.
func emitPrune(root, typ string, reclaimed int64) {
	m := events.New(typ, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(reclaimed, 10)}, time.Now())
	if err := events.Append(root, m); err != nil {
		slog.Warn("record an event", "type", typ, "action", "prune", "error", err)
	}
}
