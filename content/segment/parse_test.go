package segment

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

func testTaxonomy(tb testing.TB) *taxonomy.Taxonomy {
	tb.Helper()
	tax, err := taxonomy.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return tax
}

func TestParse(t *testing.T) {
	t.Parallel()
	tax := testTaxonomy(t)
	tests := []struct {
		in, want string
	}{
		{"", "all"},
		{"   ", "all"},
		{"all", "all"},
		{"everyone", "all"},
		{"subscribed", "subscribed"},
		{"opted_out", "opted_out"},
		{"group:farmer", "group:farmer"},
		{"town:paitan", "town:paitan"},
		{"interest:litchi", "interest:litchi"},
		{"topic:litchi", "interest:litchi"},
		{"source:training-2027", "source:training-2027"},
		{"source:Spring.Fair_2", "source:Spring.Fair_2"},
		{"active:30d", "active:30d"},
		{"active:07D", "active:7d"},
		{"active:35d", "active:35d"},
		// The example from the issue.
		{"group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out",
			"group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out"},
		// Precedence: & binds tighter than |.
		{"group:farmer | group:worker & town:paitan", "group:farmer | group:worker & town:paitan"},
		{"(group:farmer | group:worker) & town:paitan", "(group:farmer | group:worker) & town:paitan"},
		{"group:farmer & town:paitan | group:youth", "group:farmer & town:paitan | group:youth"},
		// Nested parentheses; redundant ones go, associative ones flatten.
		{"((group:farmer))", "group:farmer"},
		{"(group:farmer & (town:paitan & interest:rice))", "group:farmer & town:paitan & interest:rice"},
		{"group:farmer | (group:worker | (group:youth))", "group:farmer | group:worker | group:youth"},
		{"((group:farmer | group:worker) & (town:paitan | town:zhengguo)) | all",
			"(group:farmer | group:worker) & (town:paitan | town:zhengguo) | all"},
		// Negation.
		{"!opted_out", "!opted_out"},
		{"!!subscribed", "!!subscribed"},
		{"!(group:farmer & town:paitan)", "!(group:farmer & town:paitan)"},
		{"!(group:farmer | town:paitan) & all", "!(group:farmer | town:paitan) & all"},
		{"! group:farmer", "!group:farmer"},
		// Chinese names, short names and synonyms.
		{"town:派潭", "town:paitan"},
		{"town:派潭镇", "town:paitan"},
		{"group:农民", "group:farmer"},
		{"group:果农", "group:farmer"},
		{"interest:荔枝", "interest:litchi"},
		{"topic:食品安全", "interest:food_safety"},
		{"interest:STEM", "interest:stem"},
		{"town:(派潭|正果镇|paitan)", "town:(paitan|zhengguo)"},
		// Words, Chinese operators, full-width punctuation, lists with commas.
		{"group:farmer and not town:paitan or all", "group:farmer & !town:paitan | all"},
		{"GROUP:Farmer AND Town:PAITAN", "group:farmer & town:paitan"},
		{"group:农民 且 非 town:派潭 或 all", "group:farmer & !town:paitan | all"},
		{"group：农民　＆　town：（派潭｜正果）", "group:farmer & town:(paitan|zhengguo)"},
		{"town:(paitan, zhengguo)", "town:(paitan|zhengguo)"},
		{"town:(派潭、正果)", "town:(paitan|zhengguo)"},
		{"group:farmer && town:paitan || all", "group:farmer & town:paitan | all"},
		// Whitespace is free.
		{"group:farmer&town:paitan|!opted_out", "group:farmer & town:paitan | !opted_out"},
		{" group : farmer ", "group:farmer"},
		{"group:非洲猪瘟", ""}, // 非 inside a word is not an operator (error case below)
	}
	for _, tt := range tests {
		if tt.want == "" {
			continue
		}
		e, err := Parse(tt.in, tax)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := Parse(e.String(), tax)
		if err != nil || again.String() != tt.want {
			t.Errorf("Parse(%q) again = %v, %v; want %q", e.String(), again, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tax := testTaxonomy(t)
	tests := []struct {
		in       string
		pos      int
		msg      string // substring of Msg
		hint     string // substring of Hint
		errorStr string // substring of Error(), when set
	}{
		{in: "group:farmer & town:patan", pos: 20, msg: `unknown town "patan"`, hint: "did you mean paitan (派潭镇)?",
			errorStr: `unknown town "patan" at 20; did you mean paitan`},
		{in: "town:派谭", pos: 5, msg: `unknown town "派谭"`, hint: "did you mean paitan"},
		{in: "town:派潭 & group:famer", pos: 16, msg: `unknown group "famer"`, hint: "did you mean farmer"},
		{in: "interest:litchee", pos: 9, msg: `unknown topic "litchee"`, hint: "did you mean litchi"},
		{in: "town:xyz", pos: 5, msg: `unknown town "xyz"`, hint: "towns are licheng, zengjiang"},
		{in: "group:非洲猪瘟", pos: 6, msg: `unknown group "非洲猪瘟"`},
		{in: "town:1", pos: 5, msg: `unknown town "1"`},
		{in: "town:我在派潭镇", pos: 5, msg: `unknown town`},
		{in: "grop:farmer", pos: 0, msg: `unknown key "grop"`, hint: "did you mean group?"},
		{in: "subscribd", pos: 0, msg: `unknown flag "subscribd"`, hint: "did you mean subscribed?"},
		{in: "farmer", pos: 0, msg: `unknown flag "farmer"`, hint: "did you mean group:farmer?"},
		{in: "派潭", pos: 0, msg: `unknown flag "派潭"`, hint: "did you mean town:paitan?"},
		{in: "xyzzy", pos: 0, msg: `unknown flag "xyzzy"`, hint: "terms are key:value"},
		{in: "subscribed:yes", pos: 10, msg: "subscribed takes no value"},
		{in: "group", pos: 5, msg: `missing : and a value after "group"`},
		{in: "group:", pos: 6, msg: "missing value after group:"},
		{in: "group: & town:paitan", pos: 7, msg: "missing value after group:"},
		{in: "town:()", pos: 6, msg: "missing value in town:(...)"},
		{in: "town:(paitan|", pos: 13, msg: "missing value in town:(...)"},
		{in: "town:(paitan", pos: 12, msg: "missing ) to close the ( at 5"},
		{in: "town:(paitan & zhengguo)", pos: 13, msg: "expected | or ) in town:(...)", hint: "town:a & town:b"},
		{in: "town:(paitan|(zhengguo))", pos: 13, msg: `expected a value in town:(...), found "("`},
		{in: "(group:farmer", pos: 13, msg: "missing ) to close the ( at 0"},
		{in: "((group:farmer)", pos: 15, msg: "missing ) to close the ( at 0"},
		{in: "group:farmer)", pos: 12, msg: "unmatched )"},
		{in: "()", pos: 1, msg: `expected a term after "(", found )`},
		{in: "group:farmer &", pos: 14, msg: `expression ends after "&"; expected a term`},
		{in: "group:farmer & | town:paitan", pos: 15, msg: `expected a term after "&", found "|"`},
		{in: "& group:farmer", pos: 0, msg: `expected a term, found "&"`},
		{in: "!", pos: 1, msg: `expression ends after "!"`},
		{in: "group:farmer town:paitan", pos: 13, msg: `missing & or | before "town"`},
		{in: "group:farmer (town:paitan)", pos: 13, msg: `missing & or | before "("`},
		{in: "group:farmer and", pos: 16, msg: `expression ends after "and"`},
		{in: "group:farmer # x", pos: 13, msg: `unexpected character '#'`},
		{in: "town:派潭 $", pos: 8, msg: `unexpected character '$'`}, // rune offsets, not bytes
		{in: "source:培训", pos: 7, msg: `invalid source "培训"`},
		{in: "source:" + strings.Repeat("a", 41), pos: 7, msg: "invalid source"},
		{in: "active:30", pos: 7, msg: `invalid activity window "30"`, hint: "active:30d"},
		{in: "active:d", pos: 7, msg: `invalid activity window "d"`},
		{in: "active:-3d", pos: 7, msg: `invalid activity window "-3d"`},
		{in: "active:0d", pos: 7, msg: `activity window "0d" is out of range`},
		{in: "active:36d", pos: 7, msg: `activity window "36d" is out of range`, hint: "use 1d to 35d"},
		{in: strings.Repeat("(", 60) + "all" + strings.Repeat(")", 60), pos: 50, msg: "nested more than 50 levels"},
		{in: strings.Repeat("!", 60) + "all", pos: 50, msg: "nested more than 50 levels"},
		{in: strings.Repeat("all|", 600), pos: MaxLen, msg: "expression is too long"},
		{in: "group:farmer :", pos: 13, msg: `unexpected ":"`},
	}
	seen := map[Code]bool{}
	if _, err := Parse("town:paitan", nil); err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			seen[se.Code] = true
		}
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, tax)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) || !strings.Contains(se.Hint, tt.hint) {
			t.Errorf("Parse(%q) = {Pos %d, Msg %q, Hint %q}, want {Pos %d, Msg ~%q, Hint ~%q}", tt.in, se.Pos, se.Msg, se.Hint, tt.pos, tt.msg, tt.hint)
		}
		if tt.errorStr != "" && !strings.Contains(err.Error(), tt.errorStr) {
			t.Errorf("Parse(%q).Error() = %q, want it to contain %q", tt.in, err.Error(), tt.errorStr)
		}
		if !slices.Contains(Codes, se.Code) {
			t.Errorf("Parse(%q): code %q is not in Codes", tt.in, se.Code)
		}
		seen[se.Code] = true
	}
	// Every code is produced by some case here: a program that says each
	// code (the console) is tested against real errors.
	for _, c := range Codes {
		if !seen[c] {
			t.Errorf("no case produces code %s", c)
		}
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	tax := testTaxonomy(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 2027-03-01 01:00 in Shanghai is still 28 February in UTC: days are
	// counted in the district's zone.
	now := time.Date(2027, 2, 28, 17, 0, 0, 0, time.UTC)
	k := func(ix string) string { return "k:" + ix }
	tests := []struct {
		in   string
		want profile.Program
	}{
		{"", profile.Program{k("all")}},
		{"subscribed", profile.Program{k("sub")}},
		{"opted_out", profile.Program{k("opt")}},
		{"group:farmer", profile.Program{k("g:farmer")}},
		{"town:(paitan|zhengguo)", profile.Program{k("t:paitan"), k("t:zhengguo"), "|2"}},
		{"group:farmer & town:paitan & interest:litchi",
			profile.Program{k("g:farmer"), k("t:paitan"), k("i:litchi"), "&3"}},
		{"group:farmer | group:worker & !source:x",
			profile.Program{k("g:farmer"), k("g:worker"), k("src:x"), "!", "&2", "|2"}},
		{"active:1d", profile.Program{k("act:20270301")}},
		{"active:3d", profile.Program{k("act:20270301"), k("act:20270228"), k("act:20270227"), "|3"}},
		{"active:(1d|2d)", profile.Program{k("act:20270301"), k("act:20270228"), "|2"}},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in, tax)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := e.Compile(now, shanghai); !slices.Equal(got, tt.want) {
			t.Errorf("Compile(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	e, _ := Parse("active:35d", tax)
	if got := e.Compile(now, shanghai); len(got) != 36 || got[34] != k("act:20270126") {
		t.Errorf("Compile(active:35d) = %q, want 35 days back to 2027-01-26 and |35", got)
	}
}

func TestAudience(t *testing.T) {
	t.Parallel()
	reach := "k:" + profile.IndexReachable
	tests := []struct {
		in, want profile.Program
	}{
		{nil, profile.Program{reach}},
		{profile.Term("g:farmer"), profile.Program{"k:g:farmer", reach, "&2"}},
		{profile.Program{"k:a", "k:b", "&2"}, profile.Program{"k:a", "k:b", reach, "&3"}},
		{profile.Program{"k:a", "k:b", "|2"}, profile.Program{"k:a", "k:b", "|2", reach, "&2"}},
		{profile.Program{"k:a", "!"}, profile.Program{"k:a", "!", reach, "&2"}},
	}
	for _, tt := range tests {
		if got := Audience(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Audience(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// wellFormed checks that a program leaves exactly one bitmap on the stack,
// as scripts/count.lua needs.
func wellFormed(p profile.Program) bool {
	depth := 0
	for _, tok := range p {
		switch {
		case strings.HasPrefix(tok, "k:"):
			depth++
		case tok == "!":
			if depth < 1 {
				return false
			}
		case strings.HasPrefix(tok, "&"), strings.HasPrefix(tok, "|"):
			n := 0
			for _, c := range tok[1:] {
				n = n*10 + int(c-'0')
			}
			if n < 2 || depth < n {
				return false
			}
			depth -= n - 1
		default:
			return false
		}
	}
	return depth == 1
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "all", "group:farmer & town:(paitan|zhengguo) & interest:litchi & !opted_out",
		"active:30d", "source:training-2027", "town:派潭", "!(a|b)&c", "group:农民 且 非 town:派潭 或 all",
		"town:(派潭、正果)", "group：农民　＆　town：（派潭｜正果）", "((((", "active:36d", "topic:STEM",
	} {
		f.Add(s)
	}
	tax := testTaxonomy(f)
	now := time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		e, err := Parse(in, tax)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", in, err)
			}
			if n := len([]rune(in)); se.Pos < 0 || se.Pos > n {
				t.Fatalf("Parse(%q) error position %d outside [0, %d]", in, se.Pos, n)
			}
			return
		}
		canon := e.String()
		again, err := Parse(canon, tax)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", in, canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("canonical form is not stable: %q → %q → %q", in, canon, got)
		}
		if p := e.Compile(now, time.UTC); !wellFormed(p) || !wellFormed(Audience(p)) {
			t.Fatalf("Compile(%q) = %q is not a well-formed program", in, p)
		}
	})
}

func TestParseErrorQuotesLongInputShort(t *testing.T) {
	t.Parallel()
	_, err := Parse("town:"+strings.Repeat("派", 500), testTaxonomy(t))
	if err == nil || len([]rune(err.Error())) > 200 {
		t.Errorf("Parse(long town) error = %v, want a short message", err)
	}
}
