package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
)

// validName is Docker's container name grammar.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Words for generated names, as Docker's adjective_scientist.
var (
	adjectives = []string{"agile", "bold", "brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly",
		"keen", "kind", "lucid", "merry", "nifty", "proud", "quiet", "quick", "sharp", "silly", "stoic", "sweet",
		"tender", "vivid", "wise", "zen"}
	scientists = []string{"babbage", "curie", "darwin", "einstein", "euler", "fermi", "galileo", "hopper", "hypatia",
		"kepler", "lovelace", "meitner", "newton", "noether", "pascal", "ritchie", "shannon", "thompson", "turing",
		"wozniak"}
)

// newID returns a random 64-digit hex container ID.
func newID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// randomName returns adjective_scientist; try is appended after a clash.
func randomName(try int) string {
	pick := func(words []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
		return words[n.Int64()]
	}
	name := pick(adjectives) + "_" + pick(scientists)
	if try > 0 {
		name = fmt.Sprintf("%s%d", name, try)
	}
	return name
}
