// Package engine is berth's container engine: containers as objects with
// persistent state, made from images and run by an OCI runtime through its
// command line (berth-runtime by default; runc or crun work too).
//
// Each container has a directory under <root>/containers/<id>: the OCI
// bundle (config.json, rootfs/ where its snapshot is mounted), its log
// (container.log, Docker's json-file format), and the files its monitor
// writes (monitor.pid, exit.json). Records (name, image, options, state)
// live in <root>/containers.db (bbolt, opened per transaction, as the
// image metadata), so several berth commands can work at once; a per
// container lock file serialises the commands that change one container.
//
// The monitor (cmd/berth-monitor, the conmon role) is started detached from
// the berth command: it runs the runtime's create, holds the container's
// stdio, writes the log, reaps the container as a child subreaper, records
// its exit in exit.json, and applies the restart policy. The container so
// outlives the command that started it.
package engine
