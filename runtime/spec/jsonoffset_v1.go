//go:build !goexperiment.jsonv2

package spec

// syntaxOffsetPastBad says json.SyntaxError.Offset counts the bad byte
// (encoding/json's v1 implementation); v2's points at it.
const syntaxOffsetPastBad = true
