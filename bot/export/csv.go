// Package export writes the CSV files organizers open in Excel or WPS.
package export

import (
	"encoding/csv"
	"io"
	"strconv"
)

// CSV is a csv.Writer that defuses formulas: a cell a spreadsheet would
// run as a formula (=HYPERLINK(...) in a campaign name) is written with a
// leading apostrophe, which shows it as text. Numbers stay numbers.
type CSV struct{ w *csv.Writer }

// NewCSV returns a CSV writer over w.
func NewCSV(w io.Writer) *CSV { return &CSV{w: csv.NewWriter(w)} }

// Cell returns s as a spreadsheet will show it, not run it.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '|', '%':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}

// Write writes one record, every cell through Cell.
func (c *CSV) Write(record []string) error {
	out := make([]string, len(record))
	for i, s := range record {
		out[i] = Cell(s)
	}
	return c.w.Write(out)
}

// WriteAll writes records and flushes.
func (c *CSV) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := c.Write(r); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// Flush writes buffered data out.
func (c *CSV) Flush() { c.w.Flush() }

// Error reports an error of an earlier Write or Flush.
func (c *CSV) Error() error { return c.w.Error() }
