package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/zengcheng-kexie/kepubot/"

// TestArchitectureListsEveryPackage holds the README's architecture table
// against the tree: every package is listed, every listed package exists,
// and each imports only what its row allows.
func TestArchitectureListsEveryPackage(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Architecture")
	if !ok {
		t.Fatal("README has no ## Architecture section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([a-z/]+)` \\|[^|]*\\| ([^|]*) \\|$")
	allowed := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		allowed[m[1]] = m[2]
	}
	pkgs := map[string][]string{} // package → internal imports
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && (strings.HasPrefix(name, ".") && path != root || name == "node_modules" || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if _, ok := pkgs[rel]; !ok {
			pkgs[rel] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !slices.Contains(pkgs[rel], dep) {
				pkgs[rel] = append(pkgs[rel], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, deps := range pkgs {
		rule, ok := allowed[p]
		if !ok {
			t.Errorf("package %s is not in the README's architecture table", p)
			continue
		}
		for _, dep := range deps {
			if !mayImport(rule, dep) {
				t.Errorf("%s imports %s, but the README says it may import: %s", p, dep, rule)
			}
		}
	}
	for p := range allowed {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("the README lists %s, which is not a package", p)
		}
	}
}

// mayImport reads a "may import" cell: "everything", "nothing…", "domain
// packages" (anything but the HTTP edges and cmd), or a list of packages
// where "x/..." stands for x and everything below it.
func mayImport(rule, dep string) bool {
	switch {
	case rule == "everything":
		return true
	case strings.HasPrefix(rule, "nothing"):
		return false
	}
	for _, part := range strings.Split(rule, ",") {
		part = strings.Trim(strings.TrimSpace(part), "`")
		switch {
		case part == "domain packages":
			if dep != "bot/admin" && dep != "bot/console" && !strings.HasPrefix(dep, "cmd/") {
				return true
			}
		case strings.HasSuffix(part, "/..."):
			base := strings.TrimSuffix(part, "/...")
			if dep == base || strings.HasPrefix(dep, base+"/") {
				return true
			}
		case part == dep:
			return true
		}
	}
	return false
}
