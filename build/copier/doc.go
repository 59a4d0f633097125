// Package copier copies files into a container root filesystem with the
// rules of Dockerfile COPY and ADD.
//
// Copy takes sources relative to a source root (the build context, or a
// stage's or image's root filesystem for COPY --from) and a destination
// as written in the Dockerfile, relative to the working directory. The
// rules are Docker's: a directory source copies its contents; a
// destination ending in "/" or naming an existing directory receives the
// sources inside it; several sources need a directory destination; new
// entries are owned by 0:0 unless Options.Chown says otherwise; modes,
// modification times, symlinks, hardlinks within one copy and extended
// attributes are kept; Options.Chmod overrides modes. With
// Options.ExtractArchives (ADD) a local tar archive, plain or compressed
// with gzip, bzip2, xz or zstd (found by magic bytes, as Docker does), is
// unpacked into the destination, and http:// and https:// sources are
// downloaded (mode 0600, mtime from Last-Modified).
//
// # Safety model
//
// The destination root is hostile: an image may hold symlinks such as
// /app -> /etc or /app -> ../../../../etc. Every destination path is
// resolved with openat2(2) and RESOLVE_IN_ROOT from a descriptor on the
// destination root, so ".." and absolute or climbing symlinks resolve as
// they would in a chroot and never leave it; entries are then created
// relative to a held directory descriptor with the *at calls and
// O_NOFOLLOW|O_EXCL, so a symlink in a final component is replaced, never
// written through; owners, modes and times are set through the created
// descriptor or with the no-follow form of the call. A symlink met as an
// existing directory while merging trees is followed, again in the root,
// so that merged-/usr layouts (/lib -> usr/lib) work as in Docker.
//
// The source side is opened the same way, relative to the source root:
// a source path's symlinks are followed inside the source root (as
// Docker follows the source root's links within the context), and
// everything below a source directory is opened with O_NOFOLLOW from its
// parent's descriptor. Callers that must refuse links out of the build
// context rather than clamp them (package buildctx) check with Resolve
// first.
package copier
