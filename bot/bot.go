// Package bot answers subscribers on WeChat: the webhook (webhook.go: the
// HTTP side; handle.go: one message handled exactly once; record.go: read-
// only answers recorded after the reply), the message router (mux.go) and
// the dialogs — onboarding, settings, opt-out, erasure (dialogs.go). Subscriber profiles live in bot/profile; the WeChat
// API client in bot/wechat.
//
// Handling a message is three Redis round trips (a conflict adds more),
// two in a conversation, one in a safe-mode conversation:
// Store.ClaimNonce binds the request's signed (timestamp, nonce) to the
// message (not in safe mode, where msg_signature covers the body: see
// hookAccount.claimsNonce); Store.Begin claims the message against
// WeChat's retries and loads the subscriber (from the replica's cache in
// a conversation: no round trip); the handler runs in memory; Store.Commit
// writes profile, indexes, dialog and the reply kept for retries in one
// atomic script. A message that changed something is answered after its
// commit; one a ReadOnly handler answered with no change but the
// subscriber's activity (帮助, a search) is answered before it, and its
// commit follows off WeChat's wait (record.go, "answered early"): in a
// safe-mode conversation WeChat then waits for no Redis round trip at
// all. Handlers never call WeChat or other slow services: the reply must
// come well within WeChat's 5 seconds.
//
// The webhook reads WeChat's XML and writes its passive reply itself
// (wire.go), with the SDK's message types and crypto, not through the
// SDK's per-request server: the same bytes on the wire.
package bot

import (
	"context"
	"math"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Searcher answers a free-text query (chat search). It returns an empty
// Reply when it finds nothing; the bot then answers with a hint.
type Searcher interface {
	Search(ctx context.Context, req *Request) (Reply, error)
}

// Eraser deletes what a package keeps about a subscriber beyond the
// profile (answers, sign-ups, logs) when they ask to erase their data.
type Eraser interface {
	Erase(ctx context.Context, account, openID string) error
}

// CheckInFunc handles a scan of an event's check-in QR code; handled
// reports whether it did.
type CheckInFunc func(ctx context.Context, req *Request, s qrcode.Scene) (r Reply, handled bool, err error)

// Bot holds the dialogs and what they need.
type Bot struct {
	tax     *taxonomy.Taxonomy
	scenes  *qrcode.Store
	search  Searcher
	erasers []Eraser
	checkIn CheckInFunc
	mux     *Mux
}

// Options are the bot's optional collaborators.
type Options struct {
	Scenes  *qrcode.Store
	Search  Searcher
	Erasers []Eraser
	// CheckIn handles event check-in scenes (qrcode.Scene.Event set).
	CheckIn CheckInFunc
	// Routes lets other packages (quizzes, events) add commands and
	// dialogs to the mux before the bot's own.
	Routes []func(m *Mux)
}

// New returns a bot over the taxonomy.
func New(tax *taxonomy.Taxonomy, opts Options) *Bot {
	b := &Bot{tax: tax, scenes: opts.Scenes, search: opts.Search, erasers: opts.Erasers, checkIn: opts.CheckIn, mux: NewMux()}
	for _, r := range opts.Routes {
		r(b.mux)
	}
	b.routes(b.mux)
	return b
}

// Handle routes req through the bot's mux after recording the activity
// WeChat's customer-service windows depend on.
func (b *Bot) Handle(ctx context.Context, req *Request) (Reply, error) {
	p, m := req.Profile, req.Msg
	if req.Erased && !startsAgain(m) {
		// They asked to be erased: profile nobody until they agree again.
		req.Profile = nil
		if m.Type == "event" && m.Event != "CLICK" && m.Event != "SCAN" {
			return Reply{}, nil
		}
		return Text(txtErasedStartAgain), nil
	}
	if req.New {
		p.CreatedAt = req.Now
		// Only followers can message an account; an unsubscribe event is
		// the one exception, handled (and not stored) by its handler.
		p.Subscribed = true
	}
	switch {
	case m.Type != "event":
		p.TouchMessage(m.CreateTime)
	case m.Event == "subscribe" || m.Event == "SCAN" || m.Event == "CLICK":
		p.TouchEvent(m.CreateTime)
	case m.Event == "VIEW" || m.Event == "LOCATION":
		if m.CreateTime.After(p.LastActiveAt) {
			p.LastActiveAt = m.CreateTime
		}
	}
	elderDigit(req)
	return b.mux.Handle(ctx, req)
}

// startsAgain reports whether m is an erased subscriber's consent to be
// profiled again: following (again) or 开始.
func startsAgain(m *Message) bool {
	if m.Type == "event" {
		return m.Event == "subscribe"
	}
	return m.Type == "text" && isWord(m.Text, wordsRestart)
}

func (b *Bot) groupName(id string) string {
	if g, ok := b.tax.Group(id); ok {
		return g.Name
	}
	return id
}

func (b *Bot) townName(id string) string {
	if t, ok := b.tax.Town(id); ok {
		return t.Name
	}
	return id
}

func (b *Bot) topicName(id string) string {
	if t, ok := b.tax.Topic(id); ok {
		return t.Name
	}
	return id
}

func (b *Bot) topicNames(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = b.topicName(id)
	}
	return strings.Join(names, "、")
}

// maxTownKm is how far from the nearest town centre a location may be and
// still count as in the district.
const maxTownKm = 25

// townAt returns the town whose centre is nearest to a location inside the
// district.
func (b *Bot) townAt(lat, lon float64) (string, bool) {
	if lat == 0 && lon == 0 {
		return "", false
	}
	t := b.tax.NearestTown(lat, lon)
	if km(lat, lon, t.Lat, t.Lon) > maxTownKm {
		return "", false
	}
	return t.ID, true
}

// km is the great-circle distance between two points.
func km(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}
