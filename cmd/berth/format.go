package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
)

// humanSize formats bytes as Docker does (decimal units, 3 significant
// digits): 4.26MB, 1.2GB, 512B.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	v := float64(n)
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}

// since formats how long ago t was, as Docker's "CREATED" column.
func since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "Less than a second ago"
	case d < time.Minute:
		return plural(int(d.Seconds()), "second") + " ago"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	case d < 14*24*time.Hour:
		return plural(int(d.Hours()/24), "day") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24/7), "week") + " ago"
	case d < 2*365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month") + " ago"
	}
	return plural(int(d.Hours()/24/365), "year") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		if unit == "hour" {
			return "About an hour"
		}
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// templateFuncs are the functions Docker's --format templates have.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		"join":  strings.Join,
		"split": strings.Split,
		"title": func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"truncate": func(s string, n int) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
	}
}

// printRows writes rows as Docker's --format does: "" or "table" for the
// default table (header, columns), "json" for one JSON object per line,
// "table TEMPLATE" for a table of the template's columns with headers
// from header, any other string as a Go template per row.
func printRows[T any](w io.Writer, format, defaultTable string, header map[string]string, rows []T) error {
	switch {
	case format == "" || format == "table":
		format = "table " + defaultTable
	case format == "json":
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	table := strings.HasPrefix(format, "table ")
	body := strings.TrimPrefix(format, "table ")
	body = strings.ReplaceAll(body, `\t`, "\t")
	tmpl, err := template.New("format").Funcs(templateFuncs()).Option("missingkey=error").Parse(body)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		head := body
		for field, title := range header {
			head = strings.ReplaceAll(head, "{{."+field+"}}", title)
		}
		fmt.Fprintln(out, head)
	}
	for _, r := range rows {
		if err := tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}
