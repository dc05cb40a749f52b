package importer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// checkParsed holds for any input: no panic, and every line named is in
// the file.
func checkParsed(t *testing.T, data []byte, recs []*record, probs []Problem) {
	// yaml.v3 also breaks lines at a lone \r; count both as an upper bound.
	lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r"))
	for _, p := range probs {
		if p.Line < 0 || p.Line > lines {
			t.Errorf("problem %v names line %d of %d", p, p.Line, lines)
		}
	}
	for _, r := range recs {
		if r.line < 1 || r.line > lines {
			t.Errorf("record at line %d of %d", r.line, lines)
		}
		for _, p := range r.problems {
			if p.Line < 1 || p.Line > lines {
				t.Errorf("record problem %v names line %d of %d", p, p.Line, lines)
			}
		}
	}
}

func seeds(f *testing.F, ext string) {
	f.Add([]byte(""))
	paths, _ := filepath.Glob(filepath.Join("testdata", "*"+ext))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

func FuzzParseYAML(f *testing.F) {
	seeds(f, ".yaml")
	f.Add([]byte("# only a comment\n"))
	f.Add([]byte("items:\n  - 3\n  - [a]\nquestions: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, probs := parseYAML("f.yaml", data)
		checkParsed(t, data, recs, probs)
	})
}

func FuzzParseJSON(f *testing.F) {
	seeds(f, ".json")
	f.Add([]byte(`{"items": null, "events": [1, "x", {}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, probs := parseJSON("f.json", data)
		checkParsed(t, data, recs, probs)
	})
}

func FuzzParseCSV(f *testing.F) {
	seeds(f, ".csv")
	f.Add([]byte("title,months\n\"a\nb\",13|x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, probs := parseCSV("f.csv", data)
		checkParsed(t, data, recs, probs)
	})
}
