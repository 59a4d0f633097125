package build

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile: its stages with typed instructions
// and the ARGs declared before the first FROM.
type Dockerfile struct {
	// Name is the file's name as the user gave it (for messages).
	Name     string
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	// Escape is the escape character (the escape= directive).
	Escape rune
	// Warnings are the parser's warnings (empty continuation lines, ...).
	Warnings []string
}

// ParseError is a Dockerfile that does not parse: the file, its line and
// column (0 when the parser does not know it), and the parser's message.
type ParseError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error is "FILE:LINE[:COL]: dockerfile parse error on line LINE: MSG".
func (e *ParseError) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", pos, e.Line)
		if e.Column > 0 {
			pos = fmt.Sprintf("%s:%d", pos, e.Column)
		}
		return fmt.Sprintf("%s: dockerfile parse error on line %d: %s", pos, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: dockerfile parse error: %s", pos, e.Msg)
}

// Parse parses the Dockerfile text; name is used in messages. It never
// panics on bad input: every failure is a *ParseError.
func Parse(text []byte, name string) (df *Dockerfile, err error) {
	defer func() {
		// The reference parser is well tested, but a Dockerfile is
		// untrusted input: a panic in it must not take berth down.
		if r := recover(); r != nil {
			df, err = nil, &ParseError{File: name, Msg: fmt.Sprintf("internal parser error: %v", r)}
		}
	}()
	res, err := parser.Parse(bytes.NewReader(text))
	if err != nil {
		return nil, toParseError(name, err, 0)
	}
	df = &Dockerfile{Name: name, Escape: res.EscapeToken}
	for _, w := range res.Warnings {
		df.Warnings = append(df.Warnings, w.Short)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		line := 0
		var ui *instructions.UnknownInstructionError
		if errors.As(err, &ui) {
			line = ui.Line
		}
		return nil, toParseError(name, err, line)
	}
	if len(stages) == 0 {
		return nil, &ParseError{File: name, Msg: "file with no instructions"}
	}
	df.Stages, df.MetaArgs = stages, metaArgs
	return df, nil
}

// toParseError finds the position of a parser error: a location the
// parser attached, else the line given, else one named in the message.
func toParseError(name string, err error, line int) *ParseError {
	pe := &ParseError{File: name, Line: line, Msg: err.Error()}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		r := le.Locations[0][0]
		pe.Line = r.Start.Line
		if r.Start.Character > 0 {
			pe.Column = r.Start.Character
		}
		if inner := le.Unwrap(); inner != nil {
			pe.Msg = inner.Error()
		}
	}
	// instructions wraps its errors as "dockerfile parse error on line N:
	// msg"; keep only msg, the position is printed once.
	msg := pe.Msg
	if i := strings.Index(msg, "dockerfile parse error on line "); i >= 0 {
		rest := msg[i+len("dockerfile parse error on line "):]
		var n int
		if _, serr := fmt.Sscanf(rest, "%d:", &n); serr == nil {
			if pe.Line == 0 {
				pe.Line = n
			}
			if j := strings.Index(rest, ": "); j >= 0 {
				msg = rest[j+2:]
			}
		}
	}
	pe.Msg = msg
	return pe
}
