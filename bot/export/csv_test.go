package export

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// Finding 15: cells a spreadsheet would run as formulas are written as
// text; numbers and ordinary text are unchanged.
func TestCSVDefusesFormulas(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewCSV(&buf)
	in := []string{`=HYPERLINK("http://evil","点我")`, "+1+1", "-2+3", "@SUM(A1)", "\tx", "荔枝推送", "12", "-5", "3.5", ""}
	if err := w.WriteAll([][]string{in}); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`'=HYPERLINK("http://evil","点我")`, "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "荔枝推送", "12", "-5", "3.5", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cell %d = %q, want %q", i, got[i], want[i])
		}
	}
}
