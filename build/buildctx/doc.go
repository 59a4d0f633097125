// Package buildctx is the build context of `berth build`: the directory
// (or the tar read from stdin, unpacked safely) that COPY and ADD take
// their sources from.
//
// Open and FromTar make a Context; its .dockerignore (or
// <Dockerfile>.dockerignore, as BuildKit reads it) is applied with
// Docker's rules from github.com/moby/patternmatcher: "!" exceptions,
// "**", a directory's exclusion covering what it holds. The Dockerfile
// and .dockerignore are always readable through Dockerfile, but, as in
// Docker, they cannot be copied when the ignore file excludes them.
//
// Sources expands COPY/ADD source patterns with Docker's glob rules
// (path.Match per path element; "**" is not special there) and refuses
// what would leave the context: "../x", and symlinks whose target lies
// outside it (an absolute pattern is relative to the context). Hash is
// a content digest of the sources (names, contents, modes, symlink
// targets; not times, not owners, since COPY resets owners), computed
// with a small pool of workers and a per-build cache keyed by each
// file's device, inode, size, mtime and ctime. Copy hands the sources to
// package copier with the .dockerignore filter set.
package buildctx
