package ocispec

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// passwdEntry is one line of /etc/passwd, as far as a container needs it.
type passwdEntry struct {
	Name     string
	UID, GID int
	Home     string
}

// groupEntry is one line of /etc/group.
type groupEntry struct {
	Name    string
	GID     int
	Members []string
}

// maxLine bounds one line of an image's passwd or group file; a longer
// line is skipped rather than read into memory.
const maxLine = 64 << 10

// parsePasswd reads passwd(5) lines (name:pass:uid:gid:gecos:home:shell)
// as moby/sys/user does: blank lines are skipped, a missing or non-numeric
// id reads as 0 (Docker's behaviour), and "#" comments are skipped.
func parsePasswd(r io.Reader, keep func(passwdEntry) bool) ([]passwdEntry, error) {
	var out []passwdEntry
	err := eachLine(r, func(line []byte) {
		f := strings.Split(string(line), ":")
		e := passwdEntry{Name: field(f, 0), UID: atoi(field(f, 2)), GID: atoi(field(f, 3)), Home: field(f, 5)}
		if keep(e) {
			out = append(out, e)
		}
	})
	return out, err
}

// parseGroup reads group(5) lines (name:pass:gid:member,member).
func parseGroup(r io.Reader, keep func(groupEntry) bool) ([]groupEntry, error) {
	var out []groupEntry
	err := eachLine(r, func(line []byte) {
		f := strings.Split(string(line), ":")
		g := groupEntry{Name: field(f, 0), GID: atoi(field(f, 2))}
		if m := field(f, 3); m != "" {
			g.Members = strings.Split(m, ",")
		}
		if keep(g) {
			out = append(out, g)
		}
	})
	return out, err
}

// eachLine calls fn with every non-blank, non-comment line of r, trimmed.
// Over-long lines are skipped whole.
func eachLine(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReader(r)
	for {
		line, err := readLine(br)
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			fn(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine returns the next line without its newline, or nil for a line
// longer than maxLine (consumed but not kept).
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	long := false
	for {
		chunk, isPrefix, err := br.ReadLine()
		if !long {
			buf = append(buf, chunk...)
			if len(buf) > maxLine {
				long, buf = true, nil
			}
		}
		if err != nil || !isPrefix {
			return buf, err
		}
	}
}

func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// atoi is strconv.Atoi with errors read as 0, as moby/sys/user does.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
