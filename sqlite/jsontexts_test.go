package sqlite

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestJSONTexts: the argument of json_each is the JSON array of the
// texts, whatever they hold.
func TestJSONTexts(t *testing.T) {
	for _, ts := range [][]string{nil, {"0123456789abcdef0123456789abcdef01234567"}, {"a", `quo"te`, `back\slash`, "tab\t", "é", "\xff", ""}} {
		var got []string
		if err := json.Unmarshal([]byte(jsonTexts(ts).(string)), &got); err != nil {
			t.Fatalf("jsonTexts(%q): %v", ts, err)
		}
		want := slices.Clone(ts)
		for i, s := range want {
			if s == "\xff" {
				want[i] = "\ufffd" // not UTF-8: as encoding/json writes it
			}
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("jsonTexts(%q) = %s, decoded %q", ts, jsonTexts(ts), got)
		}
	}
}
