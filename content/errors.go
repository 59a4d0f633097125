package content

import "errors"

// Sentinel errors; test with errors.Is. The errors returned wrap them and
// name the digest or ref concerned.
var (
	// ErrNotFound means no committed blob has the digest.
	ErrNotFound = errors.New("blob not found")
	// ErrAlreadyExists means the blob is already committed; returned by
	// Writer so a caller can skip the download.
	ErrAlreadyExists = errors.New("blob already exists")
	// ErrDigestMismatch means the data does not hash to the expected digest.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrSizeMismatch means the data is not the expected size.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrInvalidDigest means a digest is malformed or of an algorithm the
	// store does not handle.
	ErrInvalidDigest = errors.New("invalid digest")
	// ErrInvalidRef means an ingest ref is empty, too long or holds
	// control characters.
	ErrInvalidRef = errors.New("invalid ingest ref")
	// ErrLocked means another writer, maybe in another process, holds the
	// ingest ref.
	ErrLocked = errors.New("locked")
	// ErrTooLarge means a blob is larger than the caller allows.
	ErrTooLarge = errors.New("blob too large")
)
