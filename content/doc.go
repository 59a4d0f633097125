// Package content is berth's content store: blobs named by their digest,
// kept in the OCI image-layout format under the berth root (by default
// /var/lib/berth/content).
//
// # On-disk layout
//
//	<dir>/
//	  oci-layout            {"imageLayoutVersion":"1.0.0"} (written once, atomically)
//	  index.json            an empty OCI index if none exists; its content belongs to
//	                        the image package (the store never reads it)
//	  lock                  empty; flock(2) LOCK_SH by Hold, LOCK_EX by Sweep
//	  blobs/sha256/<hex>    committed blobs, read-only (0444), named by digest
//	  blobs/sha512/<hex>    read if present (another tool's layout); never written
//	  ingest/<name>/        one partial write, name = hex sha256 of the writer's ref
//	    ingest.json         {"ref": ..., "expected": descriptor}
//	    data                the bytes received so far
//
// The OCI image-layout specification allows extra files beside oci-layout,
// index.json and blobs/; ingest/ and lock are berth's, and nothing of them
// is ever under blobs/, so a tool reading the directory as an OCI layout
// sees only complete, verified blobs.
//
// # Writes
//
// Every blob is written through a [Writer] keyed by a caller-chosen ref
// (for a pull, the layer digest; for an import, "import-<id>"). The data
// goes to ingest/<name>/data; [Writer.Commit] checks the size and digest
// against the expected descriptor, fsyncs the file, renames it into
// blobs/<alg>/<hex> and fsyncs that directory. A blob is therefore visible
// only once it is complete, verified and durable. If the blob is already
// there (another writer won the race), ours is discarded: concurrent
// writers of the same blob, in goroutines or in processes, are safe.
//
// A writer holds flock(2) LOCK_EX on its ingest directory. A second writer
// of the same ref, in any process, gets [ErrLocked] from [Store.Writer]
// at once, or waits in [Store.WaitWriter]. [Writer.Close] keeps the partial
// data: a later writer of the same ref and expected descriptor resumes at
// [Writer.Offset] (the hash state is rebuilt by re-reading the partial
// file), which is how an interrupted pull, even one ended by kill -9, goes
// on without fetching again what it already had. Partial data is not
// fsynced until commit: after a power loss the digest check at commit
// catches a torn partial file and the writer starts over.
//
// # Garbage collection
//
// The image package computes the live set; [Store.Sweep] removes every
// committed blob outside it while holding the store lock exclusively. Any
// operation that writes blobs and then records a reference to them
// (import, pull, load, commit) must call [Store.Hold] before its first
// write, or before relying on [ErrAlreadyExists], and release it only
// once the reference is recorded: Sweep waits for every Hold, so a blob
// just written (or found present) but not yet referenced is never swept.
// Partial writes live under ingest/, which Sweep never touches.
//
// # Crash consistency
//
// A kill -9 at any instant leaves either a partial ingest directory
// (resumable, or removed by [Store.Check] with repair) or a complete,
// verified blob; never a partial blob. [Store.Check] re-hashes every blob,
// and with repair removes corrupt blobs, stale ingest directories no live
// writer holds, and stray files.
//
// Only sha256 is written; sha256 and sha512 blobs are read.
package content
