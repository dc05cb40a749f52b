package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// allowedASCII are the ASCII words the console may show: brand and format
// names an organizer knows, and the login names of the accounts `serve`
// and the demo make (user data, typed at login).
var allowedASCII = []string{"WeChat", "Excel", "kepubot", "admin", "editor", "reviewer", "organizer", "viewer"}

var (
	asciiWordRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]`)
	// Codes residents type (报名 KJZ2027) and acronyms (CSV, QR, AI, UTF)
	// are capitals and digits.
	codeRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*$`)
	urlRE  = regexp.MustCompile(`https?://[^\s<>"，。）)]+`)
)

// visibleText returns what a person reads on a page: text outside
// script, style and <code> (the audience language organizers type,
// always shown beside its Chinese description), and the placeholder,
// title, alt and aria-label attributes.
func visibleText(page string) string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return page
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "code", "head":
				return
			}
			for _, a := range n.Attr {
				switch a.Key {
				case "placeholder", "title", "alt", "aria-label":
					b.WriteString(" " + a.Val + " ")
				}
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// consoleLinks returns the console pages a page links to.
func consoleLinks(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			for _, a := range n.Attr {
				if a.Key == "href" && strings.HasPrefix(a.Val, "/console/") && !strings.HasPrefix(a.Val, "/console/static/") {
					out = append(out, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

var numberRE = regexp.MustCompile(`[0-9]+`)

// TestConsoleSpeaksChinese crawls every console page of the demo (after
// its simulated days: items, campaigns, a quiz, an event, jobs, residents'
// phones) as the admin and fails on English words in what a person reads.
func TestConsoleSpeaksChinese(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	d, err := runDemo(ctx, 2, &out)
	if d != nil {
		defer d.close()
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	password := regexp.MustCompile(`password ([0-9a-f]+)`).FindStringSubmatch(out.String())[1]
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) (int, string, string) {
		resp, err := client.Get(d.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	_, _, login := get("/console/login")
	csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(login)[1]
	if resp, err := client.PostForm(d.base+"/console/login", url.Values{"csrf": {csrf}, "name": {"admin"}, "password": {password}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	queue := []string{"/console/", "/console/no-such-page"}
	seen := map[string]bool{}
	perShape := map[string]int{}
	leaks := map[string][]string{} // word → pages
	pages := 0
	for len(queue) > 0 && pages < 300 {
		p := queue[0]
		queue = queue[1:]
		shape := numberRE.ReplaceAllString(p, "N")
		if seen[p] || perShape[shape] >= 2 || strings.Contains(p, "/logout") {
			continue
		}
		seen[p] = true
		perShape[shape]++
		code, ctype, body := get(p)
		if !strings.HasPrefix(ctype, "text/html") {
			continue
		}
		pages++
		if code != http.StatusOK && p != "/console/no-such-page" {
			t.Errorf("%s: status %d", p, code)
		}
		for _, w := range asciiWordRE.FindAllString(urlRE.ReplaceAllString(visibleText(body), " "), -1) {
			if !slices.Contains(allowedASCII, w) && !codeRE.MatchString(w) {
				leaks[w] = append(leaks[w], p)
			}
		}
		queue = append(queue, consoleLinks(body)...)
	}
	if pages < 20 {
		t.Errorf("crawled only %d console pages", pages)
	}
	words := make([]string, 0, len(leaks))
	for w := range leaks {
		words = append(words, w)
	}
	sort.Strings(words)
	for _, w := range words {
		ps := slices.Compact(leaks[w])
		t.Errorf("English word %q shown on %d pages, e.g. %v", w, len(ps), ps[:min(3, len(ps))])
	}
}
