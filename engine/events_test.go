package engine

import (
	"context"
	"testing"
	"time"

	"berth/engine/events"
)

func TestSignalNumber(t *testing.T) {
	for in, want := range map[string]string{"SIGKILL": "9", "KILL": "9", "kill": "9", "9": "9", "SIGTERM": "15",
		"hup": "1", "": "9", "NOPE": "NOPE"} {
		if got := signalNumber(in); got != want {
			t.Errorf("signalNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEmitAttributes: labels, then image and name, win over the extra
// attributes, as Docker's LogContainerEventWithAttributes.
func TestEmitAttributes(t *testing.T) {
	e := &Engine{root: t.TempDir()}
	c := &Container{ID: "abc", Name: "web", Image: "busybox", Labels: map[string]string{"signal": "label", "tier": "front", "name": "label"}}
	e.Emit(c, "kill", map[string]string{"signal": "9"})
	e.EmitVolume("data", "create", nil)
	var got []events.Message
	err := events.Follow(context.Background(), e.root, events.Options{Since: time.Unix(1, 0), Until: time.Now()}, func(m events.Message) error {
		got = append(got, m)
		return nil
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d events, %v", len(got), err)
	}
	a := got[0].Actor.Attributes
	if got[0].Action != "kill" || got[0].From != "busybox" || a["signal"] != "label" || a["name"] != "web" || a["image"] != "busybox" || a["tier"] != "front" {
		t.Errorf("container event: %+v", got[0])
	}
	if got[1].Type != events.TypeVolume || got[1].Actor.ID != "data" || got[1].Actor.Attributes["driver"] != "local" || got[1].ID != "" {
		t.Errorf("volume event: %+v", got[1])
	}
}
