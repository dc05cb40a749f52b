// Package taxonomy is the district's vocabulary: the audience groups, the
// 13 towns and the topics content is targeted by, each with the Chinese
// names and synonyms residents use for it.
//
// The taxonomy is read from YAML (the default is embedded from
// configs/taxonomy.yaml) and validated strictly, because its ids are
// contracts stored in profiles, content and reports. Matching what a
// subscriber types lives in match.go; it is pure and safe for concurrent
// use once a Taxonomy is built.
package taxonomy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/zengcheng-kexie/kepubot/configs"
)

// Fixed ids other packages and tools rely on (shared/DOMAIN.md). A
// taxonomy may add more, never drop one.
var (
	fixedGroups = []string{"youth", "farmer", "worker", "official", "resident"}
	fixedTowns  = []string{
		"licheng", "zengjiang", "zhucun", "yongning", "lihu", "ningxi",
		"xintang", "shitan", "zhongxin", "zhengguo", "paitan", "xiaolou", "xiancun",
	}
	fixedTopics = []string{
		"agriculture", "litchi", "rice", "vegetables", "aquaculture", "livestock",
		"health", "mental_health", "safety", "disaster", "environment", "energy",
		"innovation", "technology", "food_safety", "weather", "stem", "anti_superstition",
	}
)

// Town kinds.
const (
	KindStreet = "街道" // sub-district (街道)
	KindTown   = "镇"  // town (镇)
)

// Bounds a town centre must lie in: Zengcheng (about lat 23.08–23.62,
// lon 113.54–114.02) with a margin, so a swapped or mistyped coordinate
// fails loudly.
const (
	minLat, maxLat = 23.0, 23.7
	minLon, maxLon = 113.45, 114.1
)

// townCode is a township-level administrative division code.
var townCode = regexp.MustCompile(`^[0-9]{9}$`)

// maxSuggested caps a suggested topic list so every choice is one digit and
// "13" can mean topics 1 and 3.
const maxSuggested = 9

// Term is one taxonomy entry: a stable id, the Chinese name the bot shows,
// an optional short name and the synonyms residents type for it.
type Term struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Short    string   `yaml:"short,omitempty" json:"short,omitempty"`
	Synonyms []string `yaml:"synonyms,omitempty" json:"synonyms,omitempty"`
}

// Group is an audience group (who a subscriber is) with the topic ids
// suggested to it during onboarding, in the order they are offered.
type Group struct {
	Term   `yaml:",inline"`
	Topics []string `yaml:"topics" json:"topics"`
}

// Town is a 街道 or 镇 of the district with the WGS-84 centre used to map a
// location to it.
type Town struct {
	Term `yaml:",inline"`
	Kind string  `yaml:"kind" json:"kind"`
	Lat  float64 `yaml:"lat" json:"lat"`
	Lon  float64 `yaml:"lon" json:"lon"`
	// Population is how many people live there (0: unknown), the
	// denominator of the dashboard's coverage.
	Population int64 `yaml:"population" json:"population"`
	// Code is the administrative division code (9 digits, optional):
	// hazard alerts name their areas by it.
	Code string `yaml:"code,omitempty" json:"code,omitempty"`
}

// Taxonomy is a validated taxonomy. Build it with Parse or Default; the
// slices keep the file's order, which is the order the bot numbers choices
// in. Treat it as read-only: matchers index it once.
type Taxonomy struct {
	Groups []Group `yaml:"groups" json:"groups"`
	Towns  []Town  `yaml:"towns" json:"towns"`
	Topics []Term  `yaml:"topics" json:"topics"`
	// DefaultTopics is suggested when a subscriber has no (known) group.
	DefaultTopics []string `yaml:"default_topics" json:"default_topics"`

	groupByID map[string]int
	townByID  map[string]int
	topicByID map[string]int

	groupKeys *index
	townKeys  *index
	topicKeys *index
}

// Default parses the taxonomy embedded from configs/taxonomy.yaml.
func Default() (*Taxonomy, error) {
	t, err := Parse(configs.Taxonomy)
	if err != nil {
		return nil, fmt.Errorf("embedded configs/taxonomy.yaml: %w", err)
	}
	return t, nil
}

// Parse decodes and validates a taxonomy. Unknown keys are rejected, and
// every problem found is reported, each naming the entry and key at fault.
func Parse(data []byte) (*Taxonomy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Taxonomy
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("taxonomy: empty document")
		}
		return nil, fmt.Errorf("taxonomy: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("taxonomy: more than one YAML document")
	}
	if err := t.build(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Group returns the group with id.
func (t *Taxonomy) Group(id string) (Group, bool) {
	i, ok := t.groupByID[id]
	if !ok {
		return Group{}, false
	}
	return t.Groups[i], true
}

// Town returns the town with id.
func (t *Taxonomy) Town(id string) (Town, bool) {
	i, ok := t.townByID[id]
	if !ok {
		return Town{}, false
	}
	return t.Towns[i], true
}

// Topic returns the topic with id.
func (t *Taxonomy) Topic(id string) (Term, bool) {
	i, ok := t.topicByID[id]
	if !ok {
		return Term{}, false
	}
	return t.Topics[i], true
}

// SuggestedTopics returns the topic ids offered to a group during
// onboarding, or DefaultTopics when the group is unknown or was skipped.
// The caller owns the returned slice.
func (t *Taxonomy) SuggestedTopics(groupID string) []string {
	if g, ok := t.Group(groupID); ok {
		return slices.Clone(g.Topics)
	}
	return slices.Clone(t.DefaultTopics)
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// problems collects validation errors so one run reports them all.
type problems []error

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

// build validates t and fills the lookup maps and match indexes.
func (t *Taxonomy) build() error {
	var errs problems

	groupTerms := make([]Term, len(t.Groups))
	for i, g := range t.Groups {
		groupTerms[i] = g.Term
	}
	townTerms := make([]Term, len(t.Towns))
	for i, tw := range t.Towns {
		townTerms[i] = tw.Term
	}
	t.groupByID, t.groupKeys = checkTerms(&errs, "groups", groupTerms, fixedGroups)
	t.townByID, t.townKeys = checkTerms(&errs, "towns", townTerms, fixedTowns)
	t.topicByID, t.topicKeys = checkTerms(&errs, "topics", t.Topics, fixedTopics)

	for _, g := range t.Groups {
		t.checkTopicList(&errs, fmt.Sprintf("groups: %q: topics", g.ID), g.Topics)
	}
	t.checkTopicList(&errs, "default_topics", t.DefaultTopics)

	for i, tw := range t.Towns {
		if tw.Kind != KindStreet && tw.Kind != KindTown {
			errs.addf("towns: %q: kind %q is not %s or %s", tw.ID, tw.Kind, KindStreet, KindTown)
		}
		if tw.Lat < minLat || tw.Lat > maxLat || tw.Lon < minLon || tw.Lon > maxLon {
			errs.addf("towns: %q: centre (lat %v, lon %v) is outside Zengcheng (lat %v–%v, lon %v–%v)",
				tw.ID, tw.Lat, tw.Lon, minLat, maxLat, minLon, maxLon)
		}
		if tw.Population < 0 {
			errs.addf("towns: %q: population %d is negative", tw.ID, tw.Population)
		}
		if tw.Code != "" && !townCode.MatchString(tw.Code) {
			errs.addf("towns: %q: code %q is not a 9-digit administrative division code", tw.ID, tw.Code)
		}
		for _, other := range t.Towns[:i] {
			if km(tw.Lat, tw.Lon, other.Lat, other.Lon) < 0.5 {
				errs.addf("towns: %q: centre is within 500 m of %q's; nearest-centre matching cannot tell them apart", tw.ID, other.ID)
			}
		}
	}

	if len(errs) > 0 {
		return fmt.Errorf("taxonomy: %w", errors.Join(errs...))
	}
	return nil
}

// checkTopicList checks a suggested topic list: known, distinct ids, and
// few enough to number with single digits.
func (t *Taxonomy) checkTopicList(errs *problems, where string, ids []string) {
	if len(ids) == 0 {
		errs.addf("%s: empty", where)
	}
	if len(ids) > maxSuggested {
		errs.addf("%s: %d topics, at most %d so each is one digit", where, len(ids), maxSuggested)
	}
	for i, id := range ids {
		if _, ok := t.topicByID[id]; !ok {
			errs.addf("%s: unknown topic %q", where, id)
		}
		if slices.Contains(ids[:i], id) {
			errs.addf("%s: topic %q listed twice", where, id)
		}
	}
}

// checkTerms validates one kind's entries (ids, names, synonyms and the
// fixed ids it must contain) and indexes them.
func checkTerms(errs *problems, kind string, terms []Term, fixed []string) (map[string]int, *index) {
	byID := make(map[string]int, len(terms))
	idx := newIndex()
	if len(terms) == 0 {
		errs.addf("%s: none defined", kind)
	}
	for i, term := range terms {
		switch {
		case term.ID == "":
			errs.addf("%s: entry %d (name %q): missing id", kind, i+1, term.Name)
			continue
		case !idPattern.MatchString(term.ID):
			errs.addf("%s: id %q: use lowercase letters, digits and _", kind, term.ID)
		}
		if j, dup := byID[term.ID]; dup {
			errs.addf("%s: duplicate id %q (entries %d and %d)", kind, term.ID, j+1, i+1)
			continue
		}
		byID[term.ID] = i
		if term.Name == "" {
			errs.addf("%s: %q: missing name", kind, term.ID)
		}
		add := func(key, what string) {
			if err := checkKey(key); err != nil {
				errs.addf("%s: %q: %s %q %v", kind, term.ID, what, key, err)
				return
			}
			k := fold(key)
			if owner, taken := idx.ids[k]; taken {
				if owner == term.ID {
					errs.addf("%s: %q: %s %q listed twice", kind, term.ID, what, key)
				} else {
					errs.addf("%s: %q: %s %q already used by %q", kind, term.ID, what, key, owner)
				}
				return
			}
			idx.add(k, term.ID)
		}
		if term.Name != "" {
			add(term.Name, "name")
		}
		if term.Short != "" {
			add(term.Short, "short name")
		}
		for _, s := range term.Synonyms {
			add(s, "synonym")
		}
	}
	// Ids match too (an organizer may type them), but an entry may reuse
	// its own id as a synonym, e.g. short name STEM for id stem.
	for _, term := range terms {
		k := fold(term.ID)
		if owner, taken := idx.ids[k]; taken && owner != term.ID {
			errs.addf("%s: id %q is a name or synonym of %q", kind, term.ID, owner)
		} else if term.ID != "" && !taken {
			idx.add(k, term.ID)
		}
	}
	for _, id := range fixed {
		if _, ok := byID[id]; !ok {
			errs.addf("%s: missing fixed id %q", kind, id)
		}
	}
	return byID, idx
}

// checkKey reports why a name or synonym cannot be matched as typed.
func checkKey(key string) error {
	k := fold(key)
	switch {
	case k == "":
		return errors.New("is empty")
	case k != fold(squash(key)):
		return errors.New("contains spaces or punctuation")
	case parseNumber(k) > 0:
		return errors.New("is a number, which would clash with choosing by number")
	}
	return nil
}
