package image

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"
	"unicode"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// maxChangeText bounds the text of all --change instructions together:
// they are typed by a user or sent by an API client, never megabytes.
const maxChangeText = 1 << 20

// Change is one Dockerfile instruction given to import or commit with
// --change, as Docker takes them. Docker allows CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK and
// ONBUILD; berth refuses HEALTHCHECK and ONBUILD, which have no field in
// an OCI image config, and, as Docker does, every other instruction.
type Change struct {
	// Instruction is the keyword, upper case: "CMD", "ENV", ...
	Instruction string
	// Args is the text after the keyword, continuation lines joined.
	Args string

	// Parsed forms of Args, filled by ParseChanges.
	list  []string    // CMD, ENTRYPOINT, VOLUME in JSON form; EXPOSE, VOLUME words
	json  bool        // list came from a JSON array
	pairs [][2]string // ENV, LABEL: raw key and value words
}

// String is the instruction as it would appear in a Dockerfile.
func (c Change) String() string { return c.Instruction + " " + c.Args }

// ParseChanges parses --change values. Each value holds one instruction
// or several on separate lines; a backslash at the end of a line joins it
// with the next, and blank lines and lines starting with '#' are skipped,
// as in a Dockerfile. Syntax errors are reported here; errors that depend
// on the image (a variable that must be set, a port that expands to
// nothing) come from ApplyChanges.
func ParseChanges(values []string) ([]Change, error) {
	total := 0
	var out []Change
	for _, v := range values {
		total += len(v)
		if total > maxChangeText {
			return nil, fmt.Errorf("change: instructions longer than %d bytes", maxChangeText)
		}
		for _, line := range logicalLines(v) {
			c, err := parseChange(line)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// logicalLines splits text into instructions: continuation lines joined
// (a backslash with only blanks after it ends a line that goes on), blank
// and comment lines dropped.
func logicalLines(text string) []string {
	var out []string
	var cur strings.Builder
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, "\r")
		if cur.Len() == 0 {
			t := strings.TrimSpace(line)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
		}
		trimmed := strings.TrimRight(line, " \t")
		if strings.HasSuffix(trimmed, `\`) && !strings.HasSuffix(trimmed, `\\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`))
			continue
		}
		cur.WriteString(line)
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		out = append(out, t)
	}
	return out
}

// parseChange parses one instruction line.
func parseChange(line string) (Change, error) {
	kw, args := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		kw, args = line[:i], line[i:]
	}
	c := Change{Instruction: strings.ToUpper(kw), Args: strings.TrimSpace(args)}
	switch c.Instruction {
	case "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL":
	case "HEALTHCHECK", "ONBUILD":
		return c, fmt.Errorf("change %q: %s is not supported: an OCI image config has no field for it", line, c.Instruction)
	default:
		// Docker's wording for RUN, COPY, FROM and the rest.
		return c, fmt.Errorf("change %q: %s is not a valid change command", line, kw)
	}
	if c.Args == "" {
		return c, fmt.Errorf("change %q: %s requires at least one argument", line, c.Instruction)
	}
	var err error
	switch c.Instruction {
	case "CMD", "ENTRYPOINT":
		c.list, c.json = jsonList(c.Args)
	case "VOLUME":
		if c.list, c.json = jsonList(c.Args); !c.json {
			c.list, err = splitWords(c.Args)
		}
		if err == nil && len(c.list) == 0 {
			err = fmt.Errorf("VOLUME requires at least one path")
		}
	case "EXPOSE":
		c.list, err = splitWords(c.Args)
	case "ENV", "LABEL":
		c.pairs, err = parsePairs(c.Instruction, c.Args)
	}
	if err != nil {
		return c, fmt.Errorf("change %q: %w", line, err)
	}
	return c, nil
}

// jsonList reads the exec form ["a", "b"]; like Docker, text that starts
// with '[' but is not a JSON array of strings is the shell form.
func jsonList(args string) ([]string, bool) {
	if !strings.HasPrefix(args, "[") {
		return nil, false
	}
	var l []string
	if err := json.Unmarshal([]byte(args), &l); err != nil {
		return nil, false
	}
	if l == nil {
		l = []string{}
	}
	return l, true
}

// splitWords splits args at blanks outside quotes, keeping the quotes and
// backslashes in each word for processWord.
func splitWords(args string) ([]string, error) {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	escaped := false
	for _, r := range args {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		}
		cur.WriteRune(r)
		inWord = true
	}
	if quote != 0 {
		return nil, fmt.Errorf("unmatched %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parsePairs reads ENV and LABEL arguments: key=value words, or the
// legacy form "KEY the rest of the line" when the first word has no '='.
func parsePairs(instr, args string) ([][2]string, error) {
	words, err := splitWords(args)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s requires at least one argument", instr)
	}
	if !strings.Contains(words[0], "=") {
		// Legacy form: the value is everything after the first blank.
		key := words[0]
		rest := strings.TrimSpace(strings.TrimPrefix(args, key))
		if rest == "" {
			return nil, fmt.Errorf("%s %s: no value (use %s %s=VALUE, or %s %s VALUE)", instr, key, instr, key, instr, key)
		}
		return [][2]string{{key, rest}}, nil
	}
	pairs := make([][2]string, 0, len(words))
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q has no '=': write every pair as KEY=VALUE", instr, w)
		}
		if k == "" {
			return nil, fmt.Errorf("%s: names can not be blank (%q)", instr, w)
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}

// ApplyChanges applies parsed changes to cfg in order, as Docker's
// commit and import do: variables ($VAR, ${VAR}, ${VAR:-default},
// ${VAR:+alt}, ${VAR:?err}) in ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR
// and STOPSIGNAL expand from cfg's Env as it stands before each
// instruction; the shell form of CMD and ENTRYPOINT runs under
// /bin/sh -c; ENTRYPOINT clears a Cmd that no earlier CMD of changes set.
// On error cfg may be partly changed.
func ApplyChanges(cfg *ocispec.ImageConfig, changes []Change) error {
	// cfg may share its maps with the caller's config (a base image's, a
	// container's): change copies.
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.ExposedPorts = maps.Clone(cfg.ExposedPorts)
	cfg.Volumes = maps.Clone(cfg.Volumes)
	cmdSet := false
	for _, c := range changes {
		if err := applyChange(cfg, c, &cmdSet); err != nil {
			return fmt.Errorf("change %q: %w", c.String(), err)
		}
	}
	return nil
}

func applyChange(cfg *ocispec.ImageConfig, c Change, cmdSet *bool) error {
	env := cfg.Env
	word := func(w string) (string, error) { return processWord(w, env) }
	switch c.Instruction {
	case "CMD":
		cfg.Cmd = command(c)
		*cmdSet = true
	case "ENTRYPOINT":
		cfg.Entrypoint = command(c)
		if !*cmdSet {
			cfg.Cmd = nil
		}
	case "ENV", "LABEL":
		kvs := make([][2]string, 0, len(c.pairs))
		for _, p := range c.pairs {
			k, err := word(p[0])
			if err != nil {
				return err
			}
			v, err := word(p[1])
			if err != nil {
				return err
			}
			if k == "" {
				return fmt.Errorf("%s names can not be blank", c.Instruction)
			}
			if c.Instruction == "ENV" && strings.ContainsAny(k, "=\x00") {
				return fmt.Errorf("ENV name %q holds '=' or NUL", k)
			}
			kvs = append(kvs, [2]string{k, v})
		}
		for _, kv := range kvs {
			if c.Instruction == "ENV" {
				cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
				continue
			}
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[kv[0]] = kv[1]
		}
	case "EXPOSE":
		for _, w := range c.list {
			spec, err := word(w)
			if err != nil {
				return err
			}
			ports, err := parseExpose(spec)
			if err != nil {
				return err
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	case "VOLUME":
		for _, w := range c.list {
			v := w
			if !c.json {
				var err error
				if v, err = word(w); err != nil {
					return err
				}
			}
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
		}
	case "USER":
		u, err := word(c.Args)
		if err != nil {
			return err
		}
		if u == "" {
			return fmt.Errorf("USER expands to nothing")
		}
		cfg.User = u
	case "WORKDIR":
		w, err := word(c.Args)
		if err != nil {
			return err
		}
		if w == "" {
			return fmt.Errorf("WORKDIR expands to nothing")
		}
		// A relative WORKDIR goes on from the current one, as in Docker.
		if !path.IsAbs(w) {
			w = path.Join("/", cfg.WorkingDir, w)
		}
		cfg.WorkingDir = path.Clean(w)
	case "STOPSIGNAL":
		sig, err := word(c.Args)
		if err != nil {
			return err
		}
		if err := checkSignal(sig); err != nil {
			return err
		}
		cfg.StopSignal = sig
	default:
		return fmt.Errorf("%s is not a valid change command", c.Instruction)
	}
	return nil
}

// command is the exec form of CMD or ENTRYPOINT.
func command(c Change) []string {
	if c.json {
		return append([]string{}, c.list...)
	}
	return []string{"/bin/sh", "-c", c.Args}
}

// setEnv sets k=v in env, replacing an existing k in place.
func setEnv(env []string, k, v string) []string {
	out := append([]string{}, env...)
	for i, e := range out {
		if name, _, _ := strings.Cut(e, "="); name == k {
			out[i] = k + "=" + v
			return out
		}
	}
	return append(out, k+"="+v)
}

// lookupEnv returns the value of k in env (the last one wins).
func lookupEnv(env []string, k string) (string, bool) {
	val, found := "", false
	for _, e := range env {
		if name, v, ok := strings.Cut(e, "="); ok && name == k {
			val, found = v, true
		}
	}
	return val, found
}

// parseExpose reads PORT[-PORT][/PROTO] and returns "port/proto" keys.
func parseExpose(spec string) ([]string, error) {
	if strings.Contains(spec, ":") {
		return nil, fmt.Errorf("EXPOSE %q: only container ports can be exposed (PORT[-PORT][/tcp|udp|sctp])", spec)
	}
	ports, proto, hasProto := strings.Cut(spec, "/")
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("EXPOSE %q: protocol %q is not tcp, udp or sctp", spec, proto)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	start, err := parsePort(lo)
	if err != nil {
		return nil, fmt.Errorf("EXPOSE %q: %w", spec, err)
	}
	end := start
	if isRange {
		if end, err = parsePort(hi); err != nil {
			return nil, fmt.Errorf("EXPOSE %q: %w", spec, err)
		}
		if end < start {
			return nil, fmt.Errorf("EXPOSE %q: range ends before it starts", spec)
		}
	}
	out := make([]string, 0, end-start+1)
	for p := start; p <= end; p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s != strconv.Itoa(n) {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// checkSignal accepts what Docker's STOPSIGNAL does: a number, or a name
// with or without SIG, including RTMIN+n and RTMAX-n.
func checkSignal(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return fmt.Errorf("STOPSIGNAL: invalid signal number %d", n)
		}
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for _, rt := range []string{"RTMIN+", "RTMAX-"} {
		if rest, ok := strings.CutPrefix(name, rt); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 1 && n <= 30 && rest == strconv.Itoa(n) {
				return nil
			}
			return fmt.Errorf("STOPSIGNAL: invalid signal %q", s)
		}
	}
	if name == "RTMIN" || name == "RTMAX" || unix.SignalNum("SIG"+name) != 0 {
		return nil
	}
	return fmt.Errorf("STOPSIGNAL: invalid signal %q", s)
}

// maxExpandDepth bounds ${a:-${b:-...}} nesting.
const maxExpandDepth = 32

// processWord removes quotes and escapes from a word and expands its
// variables from env, as Docker's Dockerfile word processing does:
// 'single quotes' are literal, "double quotes" expand variables and take
// \" \$ and \\ as escapes, a backslash outside quotes makes the next
// character literal.
func processWord(w string, env []string) (string, error) {
	p := &wordLexer{src: []rune(w), env: env}
	out, err := p.process(0, 0)
	if err != nil {
		return "", err
	}
	return out, nil
}

// wordLexer is the state of processWord.
type wordLexer struct {
	src []rune
	pos int
	env []string
}

// process reads up to the unquoted rune stop (0: the end) and returns
// the processed text; the stop rune is consumed.
func (l *wordLexer) process(stop rune, depth int) (string, error) {
	var b strings.Builder
	for l.pos < len(l.src) {
		r := l.src[l.pos]
		l.pos++
		switch {
		case stop != 0 && r == stop:
			return b.String(), nil
		case r == '\\':
			if l.pos < len(l.src) {
				b.WriteRune(l.src[l.pos])
				l.pos++
			} else {
				b.WriteRune(r)
			}
		case r == '\'':
			end := l.pos
			for end < len(l.src) && l.src[end] != '\'' {
				end++
			}
			if end == len(l.src) {
				return "", fmt.Errorf("unexpected end of statement while looking for matching single-quote")
			}
			b.WriteString(string(l.src[l.pos:end]))
			l.pos = end + 1
		case r == '"':
			s, err := l.doubleQuoted(depth)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		case r == '$':
			s, err := l.variable(depth)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		default:
			b.WriteRune(r)
		}
	}
	if stop != 0 {
		return "", fmt.Errorf("missing '%c'", stop)
	}
	return b.String(), nil
}

// doubleQuoted reads the rest of a "..." string.
func (l *wordLexer) doubleQuoted(depth int) (string, error) {
	var b strings.Builder
	for l.pos < len(l.src) {
		r := l.src[l.pos]
		l.pos++
		switch r {
		case '"':
			return b.String(), nil
		case '\\':
			if l.pos < len(l.src) {
				switch n := l.src[l.pos]; n {
				case '"', '$', '\\':
					b.WriteRune(n)
					l.pos++
					continue
				}
			}
			b.WriteRune(r)
		case '$':
			s, err := l.variable(depth)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		default:
			b.WriteRune(r)
		}
	}
	return "", fmt.Errorf("unexpected end of statement while looking for matching double-quote")
}

func isNameRune(r rune) bool {
	return r == '_' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// variable expands what follows a '$'.
func (l *wordLexer) variable(depth int) (string, error) {
	if l.pos >= len(l.src) {
		return "$", nil
	}
	if l.src[l.pos] != '{' {
		start := l.pos
		for l.pos < len(l.src) && isNameRune(l.src[l.pos]) {
			l.pos++
		}
		if l.pos == start {
			return "$", nil // a lone $ is literal
		}
		v, _ := lookupEnv(l.env, string(l.src[start:l.pos]))
		return v, nil
	}
	if depth >= maxExpandDepth {
		return "", fmt.Errorf("variables nested deeper than %d", maxExpandDepth)
	}
	l.pos++ // '{'
	start := l.pos
	for l.pos < len(l.src) && isNameRune(l.src[l.pos]) {
		l.pos++
	}
	name := string(l.src[start:l.pos])
	if name == "" {
		return "", fmt.Errorf("bad substitution: empty variable name")
	}
	if l.pos >= len(l.src) {
		return "", fmt.Errorf("missing '}' after ${%s", name)
	}
	val, set := lookupEnv(l.env, name)
	r := l.src[l.pos]
	l.pos++
	if r == '}' {
		return val, nil
	}
	colon := r == ':'
	if colon {
		if l.pos >= len(l.src) {
			return "", fmt.Errorf("missing '}' after ${%s:", name)
		}
		r = l.src[l.pos]
		l.pos++
	}
	switch r {
	case '-', '+', '?':
	default:
		return "", fmt.Errorf("bad substitution: unsupported modifier %q in ${%s}", r, name)
	}
	word, err := l.process('}', depth+1)
	if err != nil {
		return "", err
	}
	// With a colon an empty value counts as unset.
	present := set && (!colon || val != "")
	switch r {
	case '-':
		if present {
			return val, nil
		}
		return word, nil
	case '+':
		if present {
			return word, nil
		}
		return "", nil
	default: // '?'
		if present {
			return val, nil
		}
		if word == "" {
			word = "is not allowed to be unset"
		}
		return "", fmt.Errorf("%s: %s", name, word)
	}
}
