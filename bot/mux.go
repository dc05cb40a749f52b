package bot

import (
	"context"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Message is one inbound WeChat message or event, reduced to what the bot
// uses. It is built from the wire XML in webhook.go.
type Message struct {
	Account    string
	OpenID     string
	Type       string // text, voice, image, location, event, ...
	Event      string // subscribe, unsubscribe, SCAN, CLICK, VIEW, LOCATION, ...
	EventKey   string
	Text       string // Content, or a voice message's Recognition
	Lat, Lon   float64
	CreateTime time.Time
	MsgID      int64
}

// Reply is what the bot answers with: a text, or news cards. The zero
// Reply answers nothing ("success").
type Reply struct {
	Text     string    `json:"text,omitempty"`
	Articles []Article `json:"articles,omitempty"`
}

// Article is one news card of a reply.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	PicURL      string `json:"picurl,omitempty"`
}

// Empty reports whether r answers nothing.
func (r Reply) Empty() bool { return r.Text == "" && len(r.Articles) == 0 }

// Text returns a text reply.
func Text(s string) Reply { return Reply{Text: s} }

// Request is a message with the subscriber it came from. Handlers read and
// change Profile and Dialog; the webhook stores both, with the reply,
// atomically after the handler returns.
type Request struct {
	Msg *Message
	// Profile is the subscriber's profile, to change in place. For an
	// openid never seen before it is a fresh profile; setting it to nil
	// erases the subscriber.
	Profile *profile.Profile
	// ID is the subscriber's dense id (tracked links carry it); valid
	// only when New is not set.
	ID profile.ID
	// New is set when the subscriber had no profile before this message.
	New bool
	// Erased is set (with New) when the subscriber had their data erased
	// and has not started again: nothing is stored until they send 开始 or
	// follow again.
	Erased bool
	// Dialog is the subscriber's current multi-step dialog, if any.
	Dialog Dialog
	// Now is the handling time (the injected clock).
	Now time.Time

	// readOnly is set by a ReadOnly handler that answered the request.
	readOnly bool
}

// ReadOnly marks h as a handler that writes nothing itself: all it decides
// is its reply and the request's Profile and Dialog, which the webhook
// records (a best-effort counter that may drop a count, like the search's
// demand log, is allowed). A message it answers changing nothing but the
// subscriber's activity (help, a search without a topic) is answered
// before that activity is recorded: see Webhook, "answered early".
func ReadOnly(h Handler) Handler { return readOnlyHandler{h} }

type readOnlyHandler struct{ h Handler }

func (r readOnlyHandler) Handle(ctx context.Context, req *Request) (Reply, error) {
	req.readOnly = true
	return r.h.Handle(ctx, req)
}

// Dialog is the state of a multi-step conversation that is not onboarding
// (onboarding lives in the profile): confirming an erase, a single-field
// edit, a quiz in progress. Name is empty when none.
type Dialog struct {
	Name string `json:"n,omitempty"`
	Data string `json:"d,omitempty"`
}

// Handler answers one request.
type Handler interface {
	Handle(ctx context.Context, req *Request) (Reply, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Request) (Reply, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req *Request) (Reply, error) { return f(ctx, req) }

// Mux routes requests, like net/http's ServeMux: text commands by exact
// word or by prefix ("报名 KX1"), events by type, open dialogs by name,
// and everything else to a fallback.
//
// Precedence for text: commands, then the open dialog, then onboarding
// (the fallback's job), then the fallback.
type Mux struct {
	commands map[string]Handler
	prefixes []prefixRoute
	events   map[string]Handler
	dialogs  map[string]Handler
	fallback Handler
}

type prefixRoute struct {
	prefix string
	h      Handler
}

// NewMux returns an empty mux.
func NewMux() *Mux {
	return &Mux{commands: map[string]Handler{}, events: map[string]Handler{}, dialogs: map[string]Handler{}}
}

// Command routes a text equal to any of words (after normalisation).
func (m *Mux) Command(h Handler, words ...string) {
	for _, w := range words {
		m.commands[normalize(w)] = h
	}
}

// Prefix routes a text that starts with prefix (e.g. "报名").
func (m *Mux) Prefix(prefix string, h Handler) {
	m.prefixes = append(m.prefixes, prefixRoute{normalize(prefix), h})
}

// Event routes an event type (subscribe, SCAN, CLICK, ...).
func (m *Mux) Event(event string, h Handler) { m.events[event] = h }

// Dialog routes texts while the subscriber's dialog is name.
func (m *Mux) Dialog(name string, h Handler) { m.dialogs[name] = h }

// Fallback handles what nothing else does.
func (m *Mux) Fallback(h Handler) { m.fallback = h }

// Handle implements Handler.
func (m *Mux) Handle(ctx context.Context, req *Request) (Reply, error) {
	if req.Msg.Type == "event" {
		if h, ok := m.events[req.Msg.Event]; ok {
			return h.Handle(ctx, req)
		}
		return Reply{}, nil
	}
	text := normalize(req.Msg.Text)
	if h, ok := m.commands[text]; ok {
		return h.Handle(ctx, req)
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(text, p.prefix) {
			return p.h.Handle(ctx, req)
		}
	}
	if h, ok := m.dialogs[req.Dialog.Name]; ok && req.Dialog.Name != "" {
		return h.Handle(ctx, req)
	}
	if m.fallback != nil {
		return m.fallback.Handle(ctx, req)
	}
	return Reply{}, nil
}

// Routed reports whether text is a command or starts with a routed
// prefix, i.e. whether Handle would give it to something other than the
// open dialog or the fallback.
func (m *Mux) Routed(text string) bool {
	text = normalize(text)
	if _, ok := m.commands[text]; ok {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(text, p.prefix) {
			return true
		}
	}
	return false
}

// normalize folds what users type into one form: trimmed, full-width
// ASCII to half-width, inner spaces collapsed, Latin letters upper-cased.
func normalize(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '\u3000':
			r = ' '
		case r >= '\uff01' && r <= '\uff5e':
			r -= 0xfee0
		}
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
