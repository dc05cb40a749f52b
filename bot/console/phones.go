package console

import (
	"net/http"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// Phones is a set of simulated residents whose chats the console can show
// (the demo's phone view, next to the dashboard). Real subscribers' chats
// are never kept, so only a simulation provides one.
type Phones interface {
	Personas() []Persona
	// Chat is the persona's chat in time order; nil for an unknown id.
	Chat(id string) []ChatLine
}

// Persona is one simulated resident.
type Persona struct {
	ID      string
	Name    string // e.g. 陈伯（派潭荔枝果农）
	Profile string // what kepubot knows of them: group, town, interests
}

// ChatLine is one line of a chat as the resident's phone shows it.
type ChatLine struct {
	Time     time.Time
	FromUser bool
	// Channel of a line from the account: reply (the webhook's answer),
	// custom, template, subscribe or mass.
	Channel string
	Text    string
	// Articles of a news message: title, description and link.
	Articles []ChatArticle
}

// ChatArticle is one card of a news message.
type ChatArticle struct{ Title, Description, URL string }

type phonesPage struct {
	Personas []Persona
	Current  *Persona
	Chat     []ChatLine
}

func (c *Console) phoneRoutes() {
	if c.cfg.Phones == nil {
		return
	}
	c.handle("GET /console/phones", c.phonesPage, admin.Roles()...)
}

// phonesPage serves GET /console/phones?p=ID: the personas, and the chat
// of the chosen one (the first by default) in a phone frame.
func (c *Console) phonesPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	d := phonesPage{Personas: c.cfg.Phones.Personas()}
	want := r.URL.Query().Get("p")
	for i := range d.Personas {
		if d.Personas[i].ID == want || (want == "" && i == 0) {
			d.Current = &d.Personas[i]
			break
		}
	}
	if d.Current == nil && want != "" {
		return &statusError{status: http.StatusNotFound, msg: "没有这位居民"}
	}
	if d.Current != nil {
		d.Chat = c.cfg.Phones.Chat(d.Current.ID)
	}
	c.render(w, http.StatusOK, "phones.html", view{Title: "居民手机", Session: s, Data: d})
	return nil
}
