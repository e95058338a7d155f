package match

import (
	"testing"
	"time"
)

func TestParseDecision(t *testing.T) {
	good := DecisionNote{Company: "SH01", MatchID: "m1", Action: ActionReject, By: "clerk", Reason: "wrong customer",
		DecidedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	company, d, reason, _ := ParseDecision(good.Encode())
	if reason != "" || company != "SH01" || d.MatchID != "m1" || d.Action != ActionReject || d.By != "clerk" || !d.At.Equal(good.DecidedAt) {
		t.Fatalf("round trip: %q %+v %s", company, d, reason)
	}
	for in, want := range map[string]string{
		`{"company":"SH01"`: "invalid_json",
		`{"company":"SH01","match_id":"m","action":"accept","by":"c","decided_at":"2026-11-23T09:00:00Z","extra":1}`: "unknown_field:extra",
		`{"company":"SH01","match_id":"m","action":"accept","decided_at":"2026-11-23T09:00:00Z"}`:                    "missing_field:by",
		`{"company":"SH01","match_id":"m","action":"accept","by":"c"}`:                                               "missing_field:decided_at",
		`{"company":"SH01","match_id":"m","action":"approve","by":"c","decided_at":"2026-11-23T09:00:00Z"}`:          "invalid_value:action",
		`{"company":"SH01","match_id":"m","action":"unmatch","by":"c","decided_at":"2026-11-23T09:00:00Z"}`:          "missing_field:reason",
		`{"company":"SH01","match_id":7,"action":"accept","by":"c","decided_at":"2026-11-23T09:00:00Z"}`:             "wrong_type:match_id",
	} {
		if _, _, reason, msg := ParseDecision([]byte(in)); reason != want || msg == "" {
			t.Errorf("%s: %q (%s), want %q", in, reason, msg, want)
		}
	}
}
