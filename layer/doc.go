// Package layer turns OCI layer tars into directory trees and back.
//
// Apply unpacks a layer (plain, gzip or zstd tar) into a snapshot
// directory, either an overlayfs upper directory (whiteouts become
// overlay whiteouts) or a full copy of the parent layers (whiteouts
// delete). Diff writes an overlay upper directory as a layer, DiffDirs
// the difference of two full trees; both are reproducible: the same tree
// gives the same bytes and so the same digest. Changes and ChangesDirs
// list the same differences as `docker diff` does (A, C, D).
//
// # Safety model
//
// A layer is hostile input. Apply holds the target directory open and
// resolves every entry's parent directory with openat2(2) and
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: "..", absolute symlinks and
// symlinks that climb all resolve as if the target were "/", exactly as
// in a chroot (Docker untars in a chroot, containerd through
// fs.RootPath), so a symlink in a parent component is followed but can
// never lead out. The final component is then created relative to the
// parent's descriptor (mkdirat, openat O_CREAT|O_EXCL|O_NOFOLLOW,
// symlinkat, mknodat, linkat) and its owner, mode, times and xattrs are
// set through that descriptor or with the no-follow form of the call, so
// a symlink in the last component is never written through (containerd's
// CVE-2021-32760 was a chmod that followed one). Parents are resolved
// again from the root whenever the directory changes and after anything
// is removed (a directory handle is reused only between consecutive
// entries of one directory while nothing was removed), so a symlink that
// replaces a directory mid-archive is resolved inside the root too; and a
// handle on a directory stays on that directory, so a process racing the
// unpack cannot swap a symlink under it (the CVE-2018-15664 class of
// symlink-exchange races). Everything runs in-process: no chrooted
// helper that would load the image's own libraries (CVE-2019-14271), and
// no xz or bzip2 decompressor run on the image's behalf (CVE-2014-9357).
//
// Names are cleaned first: a leading "/" is dropped (absolute names are
// relative to the root), and a name whose ".." climbs above the root
// ("../x", "a/../../x", "/abs/../../x") fails the layer with ErrBreakout,
// as Docker refuses "breakout" names (CVE-2014-6407, CVE-2014-9356)
// rather than clamping them. Hardlink targets are cleaned the same way,
// resolved inside the root, and must not be directories. Whiteouts name
// only a direct child of a real directory: a whiteout whose directory is
// a symlink is refused, so ".wh." entries cannot delete through a link.
// overlayfs' own xattrs (trusted.overlay.*, user.overlay.*) are never
// taken from a layer, since a redirect or opaque flag smuggled into an
// upper directory would change what overlayfs shows. Device nodes are
// made only with DevicesAllow. Uids, gids and device numbers out of
// range are errors.
//
// A hostile entry fails Apply with an error that names the entry; what
// was written before stays in the target. Callers apply into a fresh
// snapshot and remove it on error, so the store is left as it was.
//
// Decisions worth knowing: the root entry ("./") is ignored, the
// snapshot's own mode and owner stand; hardlink entries take the
// target's metadata, not their header's; GNU and PAX sparse entries are
// refused (a few header bytes can declare exabytes of holes, and no OCI
// tool writes them); xattrs the filesystem cannot store
// (ENOTSUP), and user.* xattrs on symlinks and devices (which the kernel
// forbids), are skipped with a debug log; in overlay mode a hardlink can
// only point at an entry of the same layer (the upper directory holds
// nothing else), as with containerd; sockets are not written by
// Diff (tar has no form for them); directories missing from a layer are
// created 0755 and owned by the caller.
//
// Diff and DiffDirs walk trees by descriptor too (openat O_NOFOLLOW from
// the parent's descriptor), so a container changing its tree during a
// diff cannot make them read a file outside it.
package layer
