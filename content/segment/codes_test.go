package segment

import (
	"go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// Codes is complete and every error the parser makes carries a code: a
// new Code constant missing from Codes, or a SyntaxError built without
// one, fails here (TestParseErrors then asks for a case producing each
// code, and the console for a Chinese text of each).
func TestEveryErrorHasACode(t *testing.T) {
	fset := gotoken.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[Code]bool{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Code" {
					for _, v := range n.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
							declared[Code(strings.Trim(lit.Value, "\"`"))] = true
						}
					}
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "SyntaxError" {
					if !slices.ContainsFunc(n.Elts, func(e ast.Expr) bool {
						kv, ok := e.(*ast.KeyValueExpr)
						return ok && kv.Key.(*ast.Ident).Name == "Code"
					}) {
						t.Errorf("%s: a SyntaxError without a Code", fset.Position(n.Pos()))
					}
				}
			}
			return true
		})
	}
	if len(declared) == 0 {
		t.Fatal("found no Code constants")
	}
	for c := range declared {
		if !slices.Contains(Codes, c) {
			t.Errorf("code %q is declared but not in Codes", c)
		}
	}
	for _, c := range Codes {
		if !declared[c] {
			t.Errorf("Codes lists %q, which is not declared", c)
		}
	}
	if len(Codes) != len(declared) {
		t.Errorf("Codes has %d entries for %d declared codes (listed twice?)", len(Codes), len(declared))
	}
}
