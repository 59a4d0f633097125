// Package events is berth's event stream, Docker's `docker events`
// without a daemon: every berth process (and each container's monitor)
// appends one JSON line per event to <root>/events.log, and `berth events`
// reads the past lines and follows new ones.
//
// The file format is shared with the C monitor: see Append for the
// writer's protocol and Message for a line.
package events

import (
	"time"
)

// The types of events berth writes (Docker's events.Type values).
const (
	TypeContainer = "container"
	TypeImage     = "image"
	TypeVolume    = "volume"
	TypeNetwork   = "network"
)

// Message is one event, Docker's events.Message: its JSON form, keys in
// this order and Attributes sorted by key (encoding/json sorts maps), is
// a line of events.log and what `--format '{{json .}}'` prints.
type Message struct {
	// Status, ID and From are the deprecated fields Docker still fills
	// for container events: the action, the container ID and its image.
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`

	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  Actor  `json:"Actor"`
	Scope  string `json:"scope"`

	Time     int64 `json:"time,omitempty"`
	TimeNano int64 `json:"timeNano,omitempty"`
}

// Actor is what the event is about: a container ID, an image ID or a
// volume name, with attributes (for containers: image, name and labels).
type Actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// New makes an event of type typ at now: the deprecated fields are filled
// for containers as Docker fills them (From is the "image" attribute).
func New(typ, action, id string, attrs map[string]string, now time.Time) Message {
	if attrs == nil {
		attrs = map[string]string{}
	}
	m := Message{Type: typ, Action: action, Actor: Actor{ID: id, Attributes: attrs},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()}
	if typ == TypeContainer {
		m.Status, m.ID, m.From = action, id, attrs["image"]
	}
	return m
}

// When is the event's time (TimeNano, or Time for a line without it).
func (m Message) When() time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}
