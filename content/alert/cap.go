package alert

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Namespace is CAP 1.2's XML namespace.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// Message types (msgType).
const (
	TypeAlert  = "Alert"
	TypeUpdate = "Update"
	TypeCancel = "Cancel"
)

// Severities (severity), from the worst.
const (
	SeverityExtreme  = "Extreme"
	SeveritySevere   = "Severe"
	SeverityModerate = "Moderate"
	SeverityMinor    = "Minor"
)

// Alert is one CAP 1.2 alert message.
type Alert struct {
	Identifier string `xml:"identifier" json:"identifier"`
	Sender     string `xml:"sender" json:"sender"`
	Sent       string `xml:"sent" json:"sent"`
	Status     string `xml:"status" json:"status"`    // Actual, Exercise, System, Test, Draft
	MsgType    string `xml:"msgType" json:"msg_type"` // Alert, Update, Cancel, Ack, Error
	Scope      string `xml:"scope" json:"scope"`
	// References lists earlier alerts this one updates or cancels, as CAP
	// writes them: "sender,identifier,sent" triples separated by spaces.
	References string `xml:"references" json:"references,omitempty"`
	Info       []Info `xml:"info" json:"info"`
}

// Info is one language block of an alert.
type Info struct {
	Language    string   `xml:"language" json:"language,omitempty"`
	Category    []string `xml:"category" json:"category,omitempty"`
	Event       string   `xml:"event" json:"event"`
	Urgency     string   `xml:"urgency" json:"urgency"`
	Severity    string   `xml:"severity" json:"severity"`
	Certainty   string   `xml:"certainty" json:"certainty"`
	Effective   string   `xml:"effective" json:"effective,omitempty"`
	Onset       string   `xml:"onset" json:"onset,omitempty"`
	Expires     string   `xml:"expires" json:"expires,omitempty"`
	SenderName  string   `xml:"senderName" json:"sender_name,omitempty"`
	Headline    string   `xml:"headline" json:"headline,omitempty"`
	Description string   `xml:"description" json:"description,omitempty"`
	Instruction string   `xml:"instruction" json:"instruction,omitempty"`
	Web         string   `xml:"web" json:"web,omitempty"`
	Area        []Area   `xml:"area" json:"area,omitempty"`
}

// Area is an info block's area: a description and any of polygons,
// circles and geocodes.
type Area struct {
	AreaDesc string    `xml:"areaDesc" json:"area_desc"`
	Polygon  []string  `xml:"polygon" json:"polygon,omitempty"`
	Circle   []string  `xml:"circle" json:"circle,omitempty"`
	Geocode  []Geocode `xml:"geocode" json:"geocode,omitempty"`
}

// Geocode is a coded area, e.g. an administrative division code.
type Geocode struct {
	ValueName string `xml:"valueName" json:"value_name"`
	Value     string `xml:"value" json:"value"`
}

// Ref is one reference to an earlier alert.
type Ref struct {
	Sender, Identifier, Sent string
}

// Key is what makes an alert unique: its sender and identifier (CAP
// requires an identifier to be unique for its sender).
func Key(sender, identifier string) string { return sender + "\x00" + identifier }

// Key is a's unique key.
func (a *Alert) Key() string { return Key(a.Sender, a.Identifier) }

// Refs parses a's references; malformed entries are skipped.
func (a *Alert) Refs() []Ref {
	var out []Ref
	for _, f := range strings.Fields(a.References) {
		p := strings.Split(f, ",")
		if len(p) == 3 && p[0] != "" && p[1] != "" {
			out = append(out, Ref{Sender: p[0], Identifier: p[1], Sent: p[2]})
		}
	}
	return out
}

// Main is the info block to show: the first in Chinese, else the first.
func (a *Alert) Main() *Info {
	for i := range a.Info {
		if strings.HasPrefix(strings.ToLower(a.Info[i].Language), "zh") {
			return &a.Info[i]
		}
	}
	if len(a.Info) == 0 {
		return &Info{}
	}
	return &a.Info[0]
}

// SentAt is when the alert was sent (zero when unparsable).
func (a *Alert) SentAt() time.Time { return parseTime(a.Sent) }

// ExpiresAt is when the alert's main info expires (zero: not given).
func (a *Alert) ExpiresAt() time.Time { return parseTime(a.Main().Expires) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

// Validate reports what makes a unusable: CAP's required elements, and
// message types kepubot acts on.
func (a *Alert) Validate() error {
	var miss []string
	for _, f := range []struct{ name, v string }{{"identifier", a.Identifier}, {"sender", a.Sender},
		{"sent", a.Sent}, {"status", a.Status}, {"msgType", a.MsgType}} {
		if strings.TrimSpace(f.v) == "" {
			miss = append(miss, f.name)
		}
	}
	if len(miss) > 0 {
		return fmt.Errorf("cap alert lacks %s", strings.Join(miss, ", "))
	}
	if strings.ContainsAny(a.Identifier+a.Sender, " ,<&") {
		return fmt.Errorf("cap alert %q: identifier and sender may not contain spaces, commas, < or &", a.Identifier)
	}
	if a.SentAt().IsZero() {
		return fmt.Errorf("cap alert %q: sent %q is not a date-time", a.Identifier, a.Sent)
	}
	switch a.MsgType {
	case TypeAlert, TypeUpdate, TypeCancel, "Ack", "Error":
	default:
		return fmt.Errorf("cap alert %q: unknown msgType %q", a.Identifier, a.MsgType)
	}
	if (a.MsgType == TypeUpdate || a.MsgType == TypeCancel) && len(a.Refs()) == 0 {
		return fmt.Errorf("cap alert %q: %s without references", a.Identifier, a.MsgType)
	}
	return nil
}

// Actionable reports whether residents should hear of a: an actual (not
// test or exercise) alert, update or cancellation.
func (a *Alert) Actionable() bool {
	return a.Status == "Actual" && (a.MsgType == TypeAlert || a.MsgType == TypeUpdate || a.MsgType == TypeCancel)
}

// Document is what one feed URL served: alerts found inline, and links
// to alerts to fetch (an index's entries that only link).
type Document struct {
	Alerts []Alert
	Links  []string
}

// maxDocument bounds what Parse reads of one document.
const maxDocument = 4 << 20

// Parse reads a CAP 1.2 alert, or an Atom or RSS index of alerts whose
// entries contain a CAP alert or link to one. Alerts that fail Validate
// are skipped and reported together in the error (the good ones are
// still returned).
func Parse(data []byte) (Document, error) {
	if len(data) > maxDocument {
		return Document{}, fmt.Errorf("cap document of %d bytes is over the %d limit", len(data), maxDocument)
	}
	root, err := rootElement(data)
	if err != nil {
		return Document{}, err
	}
	var doc Document
	var errs []error
	add := func(a Alert) {
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
			return
		}
		doc.Alerts = append(doc.Alerts, a)
	}
	switch {
	case root.Local == "alert" && root.Space == Namespace:
		a, err := parseAlert(data)
		if err != nil {
			return Document{}, err
		}
		add(a)
	case root.Local == "feed":
		var f atomFeed
		if err := xml.Unmarshal(data, &f); err != nil {
			return Document{}, fmt.Errorf("atom feed: %w", err)
		}
		for _, e := range f.Entries {
			if e.Content.Alert != nil {
				add(*e.Content.Alert)
				continue
			}
			if l := e.capLink(); l != "" {
				doc.Links = append(doc.Links, l)
			}
		}
	case root.Local == "rss":
		var r rssFeed
		if err := xml.Unmarshal(data, &r); err != nil {
			return Document{}, fmt.Errorf("rss feed: %w", err)
		}
		for _, it := range r.Items {
			if l := strings.TrimSpace(it.Link); l != "" {
				doc.Links = append(doc.Links, l)
			}
		}
	default:
		return Document{}, fmt.Errorf("not a CAP 1.2 alert, Atom or RSS feed: root element <%s> in %q", root.Local, root.Space)
	}
	return doc, errors.Join(errs...)
}

func parseAlert(data []byte) (Alert, error) {
	var a struct {
		XMLName xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
		Alert
	}
	if err := xml.Unmarshal(data, &a); err != nil {
		return Alert{}, fmt.Errorf("cap alert: %w", err)
	}
	return a.Alert, nil
}

func rootElement(data []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return xml.Name{}, errors.New("empty document: no XML element")
		}
		if err != nil {
			return xml.Name{}, fmt.Errorf("not XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

type atomFeed struct {
	Entries []atomEntry `xml:"entry"`
}

type atomEntry struct {
	ID    string     `xml:"id"`
	Links []atomLink `xml:"link"`
	// Content may hold the alert itself.
	Content struct {
		Alert *Alert `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	} `xml:"content"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

// capLink is the entry's link to its CAP document: one typed
// application/cap+xml first, else the alternate (or untyped) link.
func (e atomEntry) capLink() string {
	for _, l := range e.Links {
		if strings.Contains(l.Type, "cap+xml") {
			return l.Href
		}
	}
	for _, l := range e.Links {
		if l.Rel == "" || l.Rel == "alternate" {
			return l.Href
		}
	}
	return ""
}

type rssFeed struct {
	Items []struct {
		Link string `xml:"link"`
	} `xml:"channel>item"`
}
