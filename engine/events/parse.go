package events

import (
	"bytes"
	"encoding/json"
	"errors"
)

// MaxLine bounds a line the reader accepts: a longer one is garbage (no
// writer makes one) and is skipped.
const MaxLine = 256 << 10

// errBadLine says a line of events.log is not an event.
var errBadLine = errors.New("not an event")

// Parse decodes one line of events.log (without its "\n"). The file may
// be written by others and torn by a crash: anything that is not a JSON
// object with a Type and an Action, or is longer than MaxLine, is an
// error, never a panic.
func Parse(line []byte) (Message, error) {
	var m Message
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > MaxLine || line[0] != '{' {
		return m, errBadLine
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return Message{}, err
	}
	if m.Type == "" || m.Action == "" || (m.TimeNano == 0 && m.Time == 0) {
		return Message{}, errBadLine
	}
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	return m, nil
}
