package importer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/zengcheng-kexie/kepubot/content"
)

// Record kinds and the list each is under in a file.
const (
	kindItem        = "item"
	kindQuestion    = "question"
	kindCompetition = "competition"
	kindEvent       = "event"
)

var lists = map[string]string{
	"items": kindItem, "questions": kindQuestion, "competitions": kindCompetition, "events": kindEvent,
}

func newValue(kind string) any {
	switch kind {
	case kindItem:
		return &content.Item{}
	case kindQuestion:
		return &content.Question{}
	case kindCompetition:
		return &content.Competition{}
	}
	return &content.Event{}
}

// fields are the keys a record of each kind may have: the yaml names of
// its type's fields, the same in JSON files.
var fields = map[string]map[string]bool{
	kindItem:        yamlFields(reflect.TypeFor[content.Item]()),
	kindQuestion:    yamlFields(reflect.TypeFor[content.Question]()),
	kindCompetition: yamlFields(reflect.TypeFor[content.Competition]()),
	kindEvent:       yamlFields(reflect.TypeFor[content.Event]()),
}

func yamlFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case opts == "inline":
			for k := range yamlFields(f.Type) {
				out[k] = true
			}
		case name == "":
			out[strings.ToLower(f.Name)] = true
		default:
			out[name] = true
		}
	}
	return out
}

// record is one record read from a file.
type record struct {
	file     string
	line     int
	kind     string
	value    any            // *content.Item, *content.Question, ...
	keys     map[string]int // field → line of its key, where known
	problems []Problem      // from reading it
	bad      bool
}

// lineOf returns the line of field ("season.months" → season), or the
// record's line.
func (r *record) lineOf(field string) int {
	top, _, _ := strings.Cut(field, ".")
	if l, ok := r.keys[top]; ok {
		return l
	}
	return r.line
}

func (r *record) externalID() string {
	switch v := r.value.(type) {
	case *content.Item:
		return v.ExternalID
	case *content.Question:
		return v.ExternalID
	case *content.Competition:
		return v.ExternalID
	case *content.Event:
		return v.ExternalID
	}
	return ""
}

func (r *record) code() string {
	switch v := r.value.(type) {
	case *content.Competition:
		return v.Code
	case *content.Event:
		return v.Code
	}
	return ""
}

func (r *record) validate(vocab content.Vocabulary) map[string]string {
	switch v := r.value.(type) {
	case *content.Item:
		return v.Validate(vocab)
	case *content.Question:
		return v.Validate(vocab)
	case *content.Competition:
		return v.Validate(vocab)
	case *content.Event:
		return v.Validate(vocab)
	}
	return nil
}

func (r *record) addProblem(line int, field, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Line: line, Kind: r.kind, Field: field,
		Message: fmt.Sprintf(format, args...)})
}

// importable says which files in a folder are read.
func importable(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json", ".csv":
		return true
	}
	return false
}

// expand turns paths into files: folders are walked (sorted, recursively)
// for YAML, JSON and CSV files.
func expand(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && importable(path) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

var bom = []byte("\xef\xbb\xbf")

// parseFile reads the records of one file. Problems with the whole file
// (bad syntax, an unknown list) come back apart from the records.
func parseFile(path string) ([]*record, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	data = bytes.TrimPrefix(data, bom)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		recs, probs := parseYAML(path, data)
		return recs, probs, nil
	case ".json":
		recs, probs := parseJSON(path, data)
		return recs, probs, nil
	case ".csv":
		recs, probs := parseCSV(path, data)
		return recs, probs, nil
	}
	return nil, []Problem{{File: path, Message: "not a .yaml, .yml, .json or .csv file"}}, nil
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// lineIn finds "line N" in a YAML error message.
func lineIn(msg string) int {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func parseYAML(file string, data []byte) ([]*record, []Problem) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []Problem{{File: file, Line: lineIn(err.Error()), Message: err.Error()}}
	}
	var probs []Problem
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		probs = append(probs, Problem{File: file, Message: "more than one YAML document; only the first is read"})
	}
	if len(doc.Content) == 0 {
		return nil, probs
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, probs
	}
	if root.Kind != yaml.MappingNode {
		return nil, append(probs, Problem{File: file, Line: root.Line, Message: "want a mapping with items:, questions:, competitions: or events:"})
	}
	var recs []*record
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, list := root.Content[i], root.Content[i+1]
		kind, ok := lists[key.Value]
		switch {
		case !ok:
			probs = append(probs, Problem{File: file, Line: key.Line, Message: fmt.Sprintf("unknown list %q (want items, questions, competitions or events)", key.Value)})
			continue
		case list.Kind == yaml.ScalarNode && list.Tag == "!!null":
			continue
		case list.Kind != yaml.SequenceNode:
			probs = append(probs, Problem{File: file, Line: list.Line, Message: key.Value + " must be a list"})
			continue
		}
		for _, el := range list.Content {
			recs = append(recs, yamlRecord(file, kind, el))
		}
	}
	return recs, probs
}

func yamlRecord(file, kind string, el *yaml.Node) *record {
	r := &record{file: file, line: el.Line, kind: kind, value: newValue(kind), keys: map[string]int{}}
	if el.Kind != yaml.MappingNode {
		r.addProblem(el.Line, "", "want a mapping of fields")
		return r
	}
	for i := 0; i+1 < len(el.Content); i += 2 {
		k := el.Content[i]
		r.keys[k.Value] = k.Line
		if !fields[kind][k.Value] {
			r.addProblem(k.Line, k.Value, "unknown field")
		}
	}
	if err := el.Decode(r.value); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				r.addProblem(max(lineIn(msg), el.Line), "", "%s", msg)
			}
		} else {
			r.addProblem(el.Line, "", "%v", err)
		}
	}
	return r
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// skipSep returns the offset of the next value at or after off.
func skipSep(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
		off++
	}
	return off
}

func parseJSON(file string, data []byte) ([]*record, []Problem) {
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(err error) []Problem {
		line := lineAt(data, dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = lineAt(data, se.Offset)
		}
		return []Problem{{File: file, Line: line, Message: err.Error()}}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			err = errors.New("want an object with items, questions, competitions or events")
		}
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fail(err)
	}
	var recs []*record
	var probs []Problem
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return recs, append(probs, fail(err)...)
		}
		key, _ := tok.(string)
		keyLine := lineAt(data, dec.InputOffset())
		kind, ok := lists[key]
		if !ok {
			probs = append(probs, Problem{File: file, Line: keyLine, Message: fmt.Sprintf("unknown list %q (want items, questions, competitions or events)", key)})
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return recs, append(probs, fail(err)...)
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return recs, append(probs, fail(err)...)
		}
		if tok == nil {
			continue
		}
		if tok != json.Delim('[') {
			probs = append(probs, Problem{File: file, Line: keyLine, Message: key + " must be a list"})
			return recs, probs
		}
		for dec.More() {
			start := skipSep(data, dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return recs, append(probs, fail(err)...)
			}
			recs = append(recs, jsonRecord(file, kind, data, start, raw))
		}
		if _, err := dec.Token(); err != nil {
			return recs, append(probs, fail(err)...)
		}
	}
	return recs, probs
}

func jsonRecord(file, kind string, data []byte, start int64, raw json.RawMessage) *record {
	line := lineAt(data, start)
	r := &record{file: file, line: line, kind: kind, value: newValue(kind), keys: map[string]int{}}
	// A pass over the keys finds their lines, for precise problems.
	kd := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := kd.Token(); err != nil || tok != json.Delim('{') {
		r.addProblem(line, "", "want an object of fields")
		return r
	}
	for kd.More() {
		tok, err := kd.Token()
		if err != nil {
			break
		}
		k, _ := tok.(string)
		r.keys[k] = lineAt(data, start+kd.InputOffset())
		if !fields[kind][k] {
			r.addProblem(r.keys[k], k, "unknown field")
		}
		var skip json.RawMessage
		if err := kd.Decode(&skip); err != nil {
			break
		}
	}
	if err := json.Unmarshal(raw, r.value); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			r.addProblem(lineAt(data, start+te.Offset), te.Field, "want a JSON %s, got %s", te.Type, te.Value)
		} else {
			r.addProblem(line, "", "%v", err)
		}
	}
	return r
}

// csvColumns sets an item field from a CSV cell; list cells separate
// values with "|".
var csvColumns = map[string]func(it *content.Item, v string) error{
	"external_id": func(it *content.Item, v string) error { it.ExternalID = v; return nil },
	"title":       func(it *content.Item, v string) error { it.Title = v; return nil },
	"summary":     func(it *content.Item, v string) error { it.Summary = v; return nil },
	"short":       func(it *content.Item, v string) error { it.Short = v; return nil },
	"body":        func(it *content.Item, v string) error { it.Body = v; return nil },
	"url":         func(it *content.Item, v string) error { it.URL = v; return nil },
	"cover_url":   func(it *content.Item, v string) error { it.CoverURL = v; return nil },
	"groups":      func(it *content.Item, v string) error { it.Groups = splitList(v); return nil },
	"towns":       func(it *content.Item, v string) error { it.Towns = splitList(v); return nil },
	"topics":      func(it *content.Item, v string) error { it.Topics = splitList(v); return nil },
	"months": func(it *content.Item, v string) (err error) {
		it.Season.Months, err = splitInts(v)
		return err
	},
	"solar_terms": func(it *content.Item, v string) error { it.Season.SolarTerms = splitList(v); return nil },
	"valid_from":  func(it *content.Item, v string) (err error) { it.ValidFrom, err = parseTime(v); return err },
	"valid_until": func(it *content.Item, v string) (err error) { it.ValidUntil, err = parseTime(v); return err },
	"priority": func(it *content.Item, v string) (err error) {
		if v != "" {
			if it.Priority, err = strconv.Atoi(v); err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
		}
		return nil
	},
	"source":   func(it *content.Item, v string) error { it.Source = v; return nil },
	"citation": func(it *content.Item, v string) error { it.Citation = v; return nil },
	"author":   func(it *content.Item, v string) error { it.Author = v; return nil },
}

func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, "|") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func splitInts(v string) ([]int, error) {
	var out []int
	for _, s := range splitList(v) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseTime reads RFC 3339, or a date (midnight China Standard Time,
// the district's zone).
func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, v, cst)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a date (2027-05-01)", v)
	}
	return t, nil
}

var cst = time.FixedZone("CST", 8*3600)

func parseCSV(file string, data []byte) ([]*record, []Problem) {
	rd := csv.NewReader(bytes.NewReader(data))
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, []Problem{{File: file, Line: 1, Message: err.Error()}}
	}
	var probs []Problem
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(h)), "season.")
		if _, ok := csvColumns[h]; !ok {
			probs = append(probs, Problem{File: file, Line: 1, Field: h, Message: "unknown column"})
			continue
		}
		cols[i] = h
	}
	var recs []*record
	for {
		row, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return recs, probs
		}
		var line int
		if len(row) > 0 { // FieldPos panics after a row that could not be read
			line, _ = rd.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			probs = append(probs, Problem{File: file, Line: line, Kind: kindItem, Message: err.Error()})
			if !errors.Is(err, csv.ErrFieldCount) {
				return recs, probs
			}
			continue
		}
		it := &content.Item{}
		r := &record{file: file, line: line, kind: kindItem, value: it}
		for i, cell := range row {
			if cols[i] == "" {
				continue
			}
			if err := csvColumns[cols[i]](it, strings.TrimSpace(cell)); err != nil {
				r.addProblem(line, cols[i], "%v", err)
			}
		}
		recs = append(recs, r)
	}
}
