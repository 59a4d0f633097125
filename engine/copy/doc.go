// Package copy is the data path of `berth cp` (docker cp), both ways,
// between a container's root filesystem and a tar stream.
//
// FromContainer writes a path of the container as a tar stream, ToContainer
// extracts a tar stream into the container; TarHost and ExtractHost are the
// same two jobs for the host end of a copy, and ParseCopyArg splits the
// CLI's "container:path" arguments. StatPath is the stat that Docker sends
// in its X-Docker-Container-Path-Stat header.
//
// # Naming rules (Docker's)
//
// Copying "dir" gives entries "dir", "dir/..."; "dir/." gives the
// directory's contents ("./", "./x"); a symlink at the source path is
// copied as a link unless the path ends in "/" or "/." or the caller asks to
// follow it (docker cp -L), in which case the target is copied under the
// link's name. On the receiving end an existing directory receives the
// entries as they are; an existing file is replaced by a single-file source
// renamed to its name; a missing destination is created under its own name
// from the source's top entry (file or directory), provided its parent
// directory exists; a destination with a trailing "/" must be a directory.
//
// # Safety model
//
// The container's root filesystem is hostile: the container may hold
// symlinks that point out of it ("/evil -> /", "x -> ../../../..") and may
// swap a directory for such a symlink while a copy runs (CVE-2018-15664).
// Every path given by a user is resolved with openat2(2) and
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS on a descriptor of the root
// filesystem, so each component, ".." and every symlink met resolve as if
// that directory were "/". Below the resolved path, trees are read by
// descriptor only: directories are opened O_NOFOLLOW relative to their
// parent's descriptor and their entries are stat'ed, read (readlinkat) and
// opened relative to that descriptor, so a symlink swapped in mid-copy is
// met as a symlink, never followed. A regular file is opened O_PATH, checked
// to still be a regular file and only then reopened for reading, so a file
// swapped for a device node is never opened.
//
// Extraction cleans every entry name and refuses names whose ".." climbs
// above the destination (Docker's "breakout" check). Each entry's parent
// directory is resolved again with openat2 RESOLVE_IN_ROOT from the root's
// descriptor (the container's root, as Docker's chrooted untar sees it; the
// destination directory itself on the host), and the entry is created
// relative to that descriptor with O_EXCL|O_NOFOLLOW, mkdirat, symlinkat,
// linkat, mknodat; owner, mode and times are set through the entry's
// descriptor or with the no-follow form of the call, so a symlink in the
// last component is never written through.
//
// Nothing from the container is ever executed: all work is done in this
// process by system calls on descriptors, without a chroot and without a
// helper process that would load the container's libraries
// (CVE-2019-14271, where docker cp's chrooted helper loaded the
// container's libnss).
//
// The host end of a copy from a container is extracted with the same code,
// rooted at the host destination directory, and more strictly: files are
// owned by the caller (Docker's behaviour), set-user-ID and set-group-ID
// bits and extended attributes (file capabilities) from the container are
// dropped, and device nodes are skipped, so copying a file out of a
// container never plants a privileged program or a device on the host.
//
// Not handled yet: bind mounts and volumes inside the container are not
// looked at; the copy sees the root filesystem directory it is given, as if
// the container's mounts were not there.
package copy
