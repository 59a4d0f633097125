// Package logs is Docker's json-file logging driver: Read serves `berth
// logs` (--follow, --since, --until, --tail, --timestamps) from the files
// the container's monitor (cmd/berth-monitor, in C) writes while it keeps
// writing them. Writer is the same format in Go: no command uses it; it
// is the reference engine/monitor's TestLogEquivalence holds the C
// writer's files to, byte for byte.
//
// The on-disk format is Docker's byte for byte, one JSON object per line:
//
//	{"log":"hello\n","stream":"stdout","time":"2026-11-27T02:42:13.123456789Z"}
//
// Files rotate by size: path is the live file, path.1 the previous one, up
// to path.(MaxFiles-1). Rotation renames files and never rewrites one in
// place, so a reader's open descriptor keeps seeing the whole of the file
// it opened.
package logs
