package bot_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden reply files in testdata/")

var createTimeRE = regexp.MustCompile(`<CreateTime>\d+</CreateTime>`)

// TestGoldenConversation posts the real WeChat XML in testdata/in_*.xml, in
// order, and compares each raw reply with testdata/out_*.xml (CreateTime
// normalised). Run with -update to accept a change.
func TestGoldenConversation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, name := range []string{"subscribe", "text_group", "text_town", "text_interests", "location", "voice_profile"} {
		in, err := os.ReadFile(filepath.Join("testdata", "in_"+name+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.phone.Post(f.ctx, in)
		if err != nil || r.Status != 200 {
			t.Fatalf("%s: status %d, %v", name, r.Status, err)
		}
		got := createTimeRE.ReplaceAllString(r.Raw, "<CreateTime>0</CreateTime>") + "\n"
		golden := filepath.Join("testdata", "out_"+name+".xml")
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s: reply\n%s\nwant\n%s", name, got, want)
		}
	}
}
