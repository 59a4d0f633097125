package image

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// This file is Docker's image reference grammar and normalisation, as
// github.com/distribution/reference v0.6.0 implements them, written as
// byte loops: that package compiles large regexps in its init, which cost
// every berth process ~2 ms at start. The functions below mirror its
// ParseNormalizedNamed, Parse and familiarizeName one to one, including
// the order of checks and the error texts; refparse_test.go compares the
// two on every input the fuzzer finds.
//
//	reference        := name [ ":" tag ] [ "@" digest ]
//	name             := [domain '/'] remote-name
//	domain           := host [':' port-number]
//	host             := domain-name | '[' [a-fA-F0-9:]+ ']'
//	domain-name      := domain-component ['.' domain-component]*
//	domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//	port-number      := /[0-9]+/
//	remote-name      := path-component ['/' path-component]*
//	path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
//	separator        := /[_.]|__|[-]+/
//	tag              := /[\w][\w.-]{0,127}/
//	digest           := algorithm ":" /[0-9a-fA-F]{32,}/
//	algorithm        := /[A-Za-z][A-Za-z0-9]*/ [/[-_+.]/ /[A-Za-z][A-Za-z0-9]*/]*

const (
	// defaultDomain is Docker Hub's name in normalised references.
	defaultDomain = "docker.io"
	// legacyDefaultDomain is Docker Hub's old name, normalised to defaultDomain.
	legacyDefaultDomain = "index.docker.io"
	// officialRepoPrefix is Docker Hub's namespace for one-component names.
	officialRepoPrefix = "library/"
	// localhost is always a domain, though it has no '.' or ':'.
	localhost = "localhost"
	// defaultTag is the tag a reference without tag or digest gets.
	defaultTag = "latest"
	// maxNameLength is the longest repository path (without domain).
	maxNameLength = 255
	// maxTagLength is the longest tag.
	maxTagLength = 128
)

// refError is a reference syntax error; a string constant, so the
// sentinels below cannot be reassigned.
type refError string

func (e refError) Error() string { return string(e) }

// The texts are distribution/reference's, which Docker users see.
const (
	errReferenceInvalidFormat refError = "invalid reference format"
	errTagInvalidFormat       refError = "invalid tag format"
	errNameContainsUppercase  refError = "repository name must be lowercase"
	errNameEmpty              refError = "repository name must have at least one component"
	errNameTooLong            refError = "repository name must not be more than 255 characters"
)

// refParts is a parsed reference. domain is "" when the first component
// is not a valid domain but the whole name is a valid path (a_b.c/app).
type refParts struct {
	domain, path, tag string
	digest            digest.Digest
}

// parseNormalized parses a reference as a user types it, normalising
// Docker Hub names (ParseNormalizedNamed). It adds no default tag.
func parseNormalized(s string) (refParts, error) {
	if isIdentifier(s) {
		return refParts{}, fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	domain, remainder := splitDockerDomain(s)
	remote := remainder
	if i := strings.IndexByte(remainder, ':'); i >= 0 {
		remote = remainder[:i]
	}
	// strings.ToLower, not an ASCII test: upstream also rejects non-ASCII
	// letters with a lower case and invalid UTF-8 here, with this text.
	if strings.ToLower(remote) != remote {
		return refParts{}, fmt.Errorf("invalid reference format: repository name (%s) must be lowercase", remote)
	}
	return parseCanonical(domain + "/" + remainder)
}

// splitDockerDomain splits s into domain and the rest, Docker's way: the
// first component is a domain if it is localhost or has a '.', a ':' or
// an upper-case letter; otherwise the domain is Docker Hub, where a
// one-component name is in library/.
func splitDockerDomain(s string) (domain, remainder string) {
	maybeDomain, maybeRemainder, ok := strings.Cut(s, "/")
	if !ok {
		return defaultDomain, officialRepoPrefix + s
	}
	switch {
	case maybeDomain == localhost:
		domain, remainder = maybeDomain, maybeRemainder
	case maybeDomain == legacyDefaultDomain:
		domain, remainder = defaultDomain, maybeRemainder
	case strings.ContainsAny(maybeDomain, ".:"):
		domain, remainder = maybeDomain, maybeRemainder
	case strings.ToLower(maybeDomain) != maybeDomain:
		domain, remainder = maybeDomain, maybeRemainder
	default:
		domain, remainder = defaultDomain, s
	}
	if domain == defaultDomain && !strings.Contains(remainder, "/") {
		remainder = officialRepoPrefix + remainder
	}
	return domain, remainder
}

// parseCanonical parses a full reference without normalising it
// (distribution/reference's Parse, for a reference that has a name).
func parseCanonical(s string) (refParts, error) {
	p, dgst, ok := matchReference(s)
	if !ok {
		if s == "" {
			return refParts{}, errNameEmpty
		}
		// Upstream's test: would the lower-cased string match? Unicode
		// lower-casing, as some non-ASCII letters lower-case to ASCII.
		if _, _, ok := matchReference(strings.ToLower(s)); ok {
			return refParts{}, errNameContainsUppercase
		}
		return refParts{}, errReferenceInvalidFormat
	}
	if len(p.path) > maxNameLength {
		return refParts{}, errNameTooLong
	}
	if dgst != "" {
		d, err := digest.Parse(dgst)
		if err != nil {
			return refParts{}, err
		}
		p.digest = d
	}
	return p, nil
}

// matchReference matches s against the whole grammar and splits it, as
// the anchored regexps' submatches do. The split is unambiguous: only the
// digest may hold an '@', and the name's colons (port, IPv6) all come
// before one of its slashes, so a colon after the last slash starts the
// tag. The digest is returned unparsed.
func matchReference(s string) (p refParts, dgst string, ok bool) {
	name := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		name, dgst = s[:i], s[i+1:]
		if !isDigestSyntax(dgst) {
			return refParts{}, "", false
		}
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && i > strings.LastIndexByte(name, '/') {
		name, p.tag = name[:i], name[i+1:]
		if !isTag(p.tag) {
			return refParts{}, "", false
		}
	}
	// The domain is optional and the regexp tries it first: the first
	// component is the domain if it can be one and the rest is a path.
	if d, rest, ok := strings.Cut(name, "/"); ok && isDomainAndPort(d) && isRemoteName(rest) {
		p.domain, p.path = d, rest
		return p, dgst, true
	}
	if !isRemoteName(name) {
		return refParts{}, "", false
	}
	p.path = name
	return p, dgst, true
}

// isIdentifier: exactly 64 lower-case hex digits, an image ID.
func isIdentifier(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !('a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// isRemoteName: path components separated by single slashes.
func isRemoteName(s string) bool {
	for {
		c, rest, more := strings.Cut(s, "/")
		if !isPathComponent(c) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// isPathComponent: runs of [a-z0-9] joined by one separator each: '.',
// '_', '__' or any number of '-'.
func isPathComponent(s string) bool {
	i := 0
	for {
		start := i
		for i < len(s) && isLowerAlnum(s[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(s) {
			return true
		}
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(s) && s[i] == '_' {
				i++
			}
		case '-':
			for i < len(s) && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// isDomainAndPort: a domain name or a bracketed IPv6 address, with an
// optional :port.
func isDomainAndPort(s string) bool {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !isIPv6Body(s[1:end]) {
			return false
		}
		return s[end+1:] == "" || isPort(s[end+1:])
	}
	host := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if !isPort(s[i:]) {
			return false
		}
		host = s[:i]
	}
	for {
		c, rest, more := strings.Cut(host, ".")
		if !isDomainComponent(c) {
			return false
		}
		if !more {
			return true
		}
		host = rest
	}
}

// isIPv6Body: [a-fA-F0-9:]+, what the grammar accepts between brackets.
func isIPv6Body(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) && s[i] != ':' {
			return false
		}
	}
	return true
}

// isPort: ':' and one or more digits.
func isPort(s string) bool {
	if len(s) < 2 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isDomainComponent: [a-zA-Z0-9] with inner '-', not at either end.
func isDomainComponent(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isTag: [\w][\w.-]{0,127}.
func isTag(s string) bool {
	if s == "" || len(s) > maxTagLength || !isWord(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isWord(s[i]) && s[i] != '.' && s[i] != '-' {
			return false
		}
	}
	return true
}

// isDigestSyntax: the reference grammar's digest, algorithm:hex with at
// least 32 hex digits. go-digest then checks the algorithm and length.
func isDigestSyntax(s string) bool {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok || len(hex) < 32 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if !isHex(hex[i]) {
			return false
		}
	}
	// Components [A-Za-z][A-Za-z0-9]* joined by one of -_+.
	atStart := true
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		switch {
		case atStart:
			if !isLetter(c) {
				return false
			}
			atStart = false
		case isAlnum(c):
		case c == '-' || c == '_' || c == '+' || c == '.':
			atStart = true
		default:
			return false
		}
	}
	return !atStart
}

// familiar is p's name as Docker shows it: without docker.io/, and
// without library/ for an official image (familiarizeName).
func (p refParts) familiar() refParts {
	if p.domain != defaultDomain {
		return p
	}
	p.domain = ""
	if rest, ok := strings.CutPrefix(p.path, officialRepoPrefix); ok && !strings.Contains(rest, "/") {
		p.path = rest
	}
	return p
}

// name is domain/path, or path when there is no domain.
func (p refParts) name() string {
	if p.domain == "" {
		return p.path
	}
	return p.domain + "/" + p.path
}

// String is name[:tag][@digest].
func (p refParts) String() string {
	s := p.name()
	if p.tag != "" {
		s += ":" + p.tag
	}
	if p.digest != "" {
		s += "@" + p.digest.String()
	}
	return s
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLetter(c byte) bool     { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool      { return isDigit(c) || isLetter(c) }
func isLowerAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' }
func isWord(c byte) bool       { return isAlnum(c) || c == '_' }
func isHex(c byte) bool        { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
