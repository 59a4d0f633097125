// Package spec loads, validates and generates OCI runtime configurations
// (config.json).
package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the name of the configuration file in a bundle.
const ConfigName = "config.json"

// maxConfigSize bounds config.json so a hostile bundle cannot exhaust memory.
const maxConfigSize = 16 << 20

// Load reads, parses and validates bundle/config.json. The rootfs path is
// made absolute (relative to the bundle) and checked to be a directory.
func Load(bundle string) (*specs.Spec, error) {
	s, _, err := LoadRaw(bundle)
	return s, err
}

// LoadRaw is Load, and also returns config.json's text if it decodes to
// the spec returned (its root.path was absolute), nil otherwise: a caller
// that stores the config as JSON need not encode it again.
func LoadRaw(bundle string) (*specs.Spec, json.RawMessage, error) {
	path := filepath.Join(bundle, ConfigName)
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	raw := json.RawMessage(data)
	if !filepath.IsAbs(s.Root.Path) {
		s.Root.Path = filepath.Join(bundle, s.Root.Path)
		raw = nil
	}
	fi, err := os.Stat(s.Root.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: root.path: %w", path, err)
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s: root.path: %s is not a directory", path, s.Root.Path)
	}
	return s, raw, nil
}

func readLimited(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	return data, nil
}

// Parse decodes a config.json document and validates it. Errors name the
// offending JSON field.
func Parse(data []byte) (*specs.Spec, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, describeJSONError(data, err)
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// describeJSONError turns a decoding error into one that names the field or
// the line where the document is broken.
func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Point at the bad byte, or just past the end when the input is
		// cut short.
		off := syn.Offset
		if syntaxOffsetPastBad && off > 0 && !strings.Contains(syn.Error(), "end of JSON input") {
			off--
		}
		line, col := position(data, off)
		return fmt.Errorf("invalid JSON at line %d, column %d: %w", line, col, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "top level"
		}
		return fmt.Errorf("%s: cannot use JSON %s as %s", field, typ.Value, typ.Type)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func position(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
