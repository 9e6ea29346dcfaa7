package models

import (
	"slices"
	"testing"
)

// TestSeriesDingTalkEvents: the current event is replaced and kept among the older ones,
// an event gone is forgotten wherever it is, and the current one is never listed older.
func TestSeriesDingTalkEvents(t *testing.T) {
	var s Series
	s.RetireDingTalkEvent("e1")
	if s.DingTalkEvent() != "e1" || len(s.OlderDingTalkEvents()) != 0 {
		t.Fatalf("first event: current %q, older %v", s.DingTalkEvent(), s.OlderDingTalkEvents())
	}
	s.RetireDingTalkEvent("e2")
	s.RetireDingTalkEvent("e2") // the same event recorded twice changes nothing
	if s.DingTalkEvent() != "e2" || !slices.Equal(s.OlderDingTalkEvents(), []string{"e1"}) {
		t.Fatalf("second event: current %q, older %v; want e2 and [e1]", s.DingTalkEvent(), s.OlderDingTalkEvents())
	}
	s.RetireDingTalkEvent("") // refused: the series has no current event
	if s.DingTalkEvent() != "" || !slices.Equal(s.OlderDingTalkEvents(), []string{"e1", "e2"}) {
		t.Fatalf("retired: current %q, older %v; want none and [e1 e2]", s.DingTalkEvent(), s.OlderDingTalkEvents())
	}
	s.RetireDingTalkEvent("e1") // an older event made current again leaves the older ones
	if s.DingTalkEvent() != "e1" || !slices.Equal(s.OlderDingTalkEvents(), []string{"e2"}) {
		t.Fatalf("e1 again: current %q, older %v; want e1 and [e2]", s.DingTalkEvent(), s.OlderDingTalkEvents())
	}
	s.ForgetDingTalkEvents("e1", "e2")
	if s.DingTalkEvent() != "" || len(s.OlderDingTalkEvents()) != 0 {
		t.Errorf("after forgetting both: current %q, older %v; want none", s.DingTalkEvent(), s.OlderDingTalkEvents())
	}
}
