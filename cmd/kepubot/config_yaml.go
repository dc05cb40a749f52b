package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeYAML fills c from a configuration file's data. Its errors name
// the file, the line and the key (`http.adress`, `accounts[1].token`),
// and suggest the key that was probably meant.
func decodeYAML(path string, data []byte, c *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return syntaxError(path, data, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	if err := checkNode(doc.Content[0], reflect.TypeOf(*c), ""); err != nil {
		return fmt.Errorf("config %s line %d: %s", path, err.line, err.msg)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err) // checkNode let something through
	}
	return nil
}

type nodeError struct {
	line int
	msg  string
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// offByOne are the yaml.v3 messages for which it reports the 0-based line
// of the problem, one less than the line an editor shows: the parser's
// (not the scanner's), and a tab in the indentation.
var offByOne = []string{
	"found a tab character that violates indentation",
	"did not find expected <document start>", "did not find expected node content",
	"did not find expected key", "did not find expected '-' indicator",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
}

// syntaxError reports a YAML syntax error with the right line and its text.
func syntaxError(path string, data []byte, err error) error {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	line, _ := strconv.Atoi(m[1])
	for _, p := range offByOne {
		if strings.HasPrefix(m[2], p) {
			line++
		}
	}
	msg := fmt.Sprintf("config %s line %d: not valid YAML: %s", path, line, m[2])
	if lines := strings.Split(string(data), "\n"); line >= 1 && line <= len(lines) {
		msg += fmt.Sprintf("\n  %d | %s", line, strings.ReplaceAll(lines[line-1], "\t", "→"))
	}
	return errors.New(msg)
}

// checkNode checks a YAML node against the Go type it decodes into: every
// key known, every value of the right kind.
func checkNode(n *yaml.Node, t reflect.Type, path string) *nodeError {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty value keeps the default
	}
	name := path
	if name == "" {
		name = "the file"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return &nodeError{n.Line, fmt.Sprintf("%s must be a mapping (`key: value` lines), not %s", name, kindOf(n))}
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", join(path, k.Value))
				if s := suggestKey(k.Value, path, t); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				return &nodeError{k.Line, msg}
			}
			if err := checkNode(v, f.Type, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &nodeError{n.Line, fmt.Sprintf("%s must be a list (`- ` lines or [a, b]), not %s", name, kindOf(n))}
		}
		for i, e := range n.Content {
			if err := checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return &nodeError{n.Line, fmt.Sprintf("%s must be a single value (text), not %s", name, kindOf(n))}
		}
	case reflect.Int, reflect.Int64:
		if _, err := strconv.ParseInt(n.Value, 10, 64); n.Kind != yaml.ScalarNode || err != nil {
			return &nodeError{n.Line, fmt.Sprintf("%s must be a whole number, not %s", name, describe(n))}
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return &nodeError{n.Line, fmt.Sprintf("%s must be true or false, not %s", name, describe(n))}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindOf(n)
}

// yamlFields maps a struct's YAML keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = f
	}
	return out
}

// suggestKey returns the known key closest to a mistyped one: first among
// its siblings, then anywhere in the configuration (a key put at the wrong
// level), as a full path; "" when nothing is close.
func suggestKey(key, path string, t reflect.Type) string {
	best, bestD := "", 3 // at most two edits apart
	if len(key) > 8 {
		bestD = 4
	}
	try := func(candidate, full string) {
		for _, form := range append([]string{candidate}, longForms[candidate]...) {
			if d := editDistance(strings.ToLower(key), form); d < bestD {
				best, bestD = full, d
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(yamlFields(t))) {
		try(name, join(path, name))
	}
	if best != "" {
		return best
	}
	seen := map[reflect.Type]bool{} // menu buttons nest menu buttons
	var walk func(t reflect.Type, p string)
	walk = func(t reflect.Type, p string) {
		for t.Kind() == reflect.Slice {
			t = t.Elem()
			p += "[]"
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		fields := yamlFields(t)
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			try(name, join(p, name))
			walk(fields[name].Type, join(p, name))
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return best
}

// longForms are what people write for some keys: `address` for addr.
var longForms = map[string][]string{
	"addr":       {"address", "listen"},
	"url":        {"addr"},
	"app_id":     {"appid"},
	"app_secret": {"secret", "appsecret"},
	"aes_key":    {"encoding_aes_key", "encodingaeskey"},
	"timezone":   {"time_zone", "tz"},
	"public_url": {"base_url", "publicurl"},
}

// editDistance is the Levenshtein distance between a and b (bytes: the
// keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
