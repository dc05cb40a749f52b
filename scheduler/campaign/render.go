package campaign

import (
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/content"
)

// What subscribers receive, per channel. Links go through the click
// tracker (links.go) when a public URL is configured.

// article is the news card of a customer-service message.
func (e *Engine) article(c *Campaign, it *content.Item, id profile.ID) wechat.Article {
	return wechat.Article{
		Title:       it.Title,
		Description: it.Summary,
		URL:         e.link(c, it, &id),
		PicURL:      it.CoverURL,
	}
}

// massText is the text of a mass message: the same for every recipient of
// a batch, so its link counts clicks per campaign, not per subscriber.
func (e *Engine) massText(c *Campaign, it *content.Item) string {
	var b strings.Builder
	b.WriteString("【增城科普】")
	b.WriteString(it.Title)
	b.WriteString("\n")
	summary := it.Summary
	if it.Short != "" && len([]rune(it.Summary)) > 80 {
		summary = it.Short
	}
	b.WriteString(summary)
	b.WriteString("\n阅读全文：")
	b.WriteString(e.link(c, it, nil))
	return b.String()
}

// template is a service notice (template message). Since 2023-05 WeChat
// ignores first/remark and colours: only keyword fields are sent.
func (e *Engine) template(c *Campaign, ps plannedSend) wechat.TemplateMessage {
	return wechat.TemplateMessage{
		ToUser:      ps.member.OpenID,
		TemplateID:  e.cfg.Template,
		URL:         e.link(c, ps.item, &ps.member.ID),
		Data:        map[string]string{"thing1": truncate(ps.item.Title, 20), "thing2": truncate(ps.item.Short, 20)},
		ClientMsgID: "kb" + c.ID + "-" + ps.member.OpenID,
	}
}

// Message is what one subscriber's phone shows for a send, rendered by
// the functions the sends use, so that a preview shows exactly what is
// sent. Its links are the subscriber's own tracked links: show them, but
// never follow one on the subscriber's behalf (it would count a click).
type Message struct {
	Channel string `json:"channel"` // custom, template, subscribe, mass
	// A customer-service news card.
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	PicURL      string `json:"pic_url,omitempty"`
	// A mass message's text (its link included).
	Text string `json:"text,omitempty"`
	// A notice's keyword fields (template and subscribe messages).
	Fields map[string]string `json:"fields,omitempty"`
	URL    string            `json:"url,omitempty"`
}

// Render is the message member gets from c with item through channel
// (custom, template, subscribe or mass); nil for another channel.
func (e *Engine) Render(c *Campaign, it *content.Item, member profile.Member, channel string) *Message {
	switch channel {
	case "custom":
		a := e.article(c, it, member.ID)
		return &Message{Channel: channel, Title: a.Title, Description: a.Description, PicURL: a.PicURL, URL: a.URL}
	case "mass":
		return &Message{Channel: channel, Text: e.massText(c, it), URL: e.link(c, it, nil)}
	case "template", "subscribe":
		t := e.template(c, plannedSend{member: member, item: it})
		return &Message{Channel: channel, Fields: t.Data, URL: t.URL}
	}
	return nil
}

func (e *Engine) link(c *Campaign, it *content.Item, id *profile.ID) string {
	if e.cfg.Links == nil {
		return it.URL
	}
	return e.cfg.Links.URL(c.Account, c.ID, it.ID, id)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
