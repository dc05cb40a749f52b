package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// samplesAnchor is the day the sample events and competitions are dated
// around: Monday of Science and Technology Week 2027, where the demo's
// simulated clock starts.
var samplesAnchor = time.Date(2027, 5, 17, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// sampleShiftDays is how many days the sample events move so that
// samplesAnchor falls on now's calendar day (in loc): 0 in the demo.
func sampleShiftDays(now time.Time, loc *time.Location) int {
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	ay, am, ad := samplesAnchor.Date()
	anchor := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	return int(today.Sub(anchor).Hours() / 24)
}

var timeFieldRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T`)

// shiftSampleDates moves every time in the sample events file (YAML) by
// days, keeping the time of day, and writes the year of each record's
// start into its title ("2027年…").
func shiftSampleDates(data []byte, days int) ([]byte, error) {
	if days == 0 {
		return data, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("sample events: %w", err)
	}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.MappingNode {
			var title *yaml.Node
			year := 0
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if k == "title" {
					title = v
				}
				if v.Kind != yaml.ScalarNode || !timeFieldRE.MatchString(v.Value) {
					continue
				}
				t, err := time.Parse(time.RFC3339, v.Value)
				if err != nil {
					return fmt.Errorf("sample events: %s %q: %w", k, v.Value, err)
				}
				t = t.AddDate(0, 0, days)
				v.Value = t.Format(time.RFC3339)
				if k == "starts_at" {
					year = t.Year()
				}
			}
			if title != nil && year != 0 {
				title.Value = strings.ReplaceAll(title.Value, strconv.Itoa(samplesAnchor.Year())+"年", strconv.Itoa(year)+"年")
			}
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&doc); err != nil {
		return nil, err
	}
	return yaml.Marshal(&doc)
}
