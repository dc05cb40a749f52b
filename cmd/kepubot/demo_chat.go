package main

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

// chatResidents are the residents who talk to the demo through `kepubot
// chat` (straight to the webhook, not through the demo's simulated
// phones): the demo records their chats in the simulated WeChat, which
// then also lets pushes reach them as it would a follower.
type chatResidents struct {
	mu  sync.Mutex
	ids []string
}

func (c *chatResidents) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// observer returns the webhook's observer that records chat residents'
// messages and replies in wx.
func (c *chatResidents) observer(wx *wechattest.Server, appID string, now func() time.Time) func(*bot.Message, bot.Reply) {
	return func(msg *bot.Message, reply bot.Reply) {
		id := msg.OpenID
		if !strings.HasPrefix(id, chatOpenIDPrefix) {
			return // the demo's own phones record their chats
		}
		c.mu.Lock()
		if !slices.Contains(c.ids, id) {
			c.ids = append(c.ids, id)
		}
		c.mu.Unlock()
		at := now()
		line := wechattest.ChatLine{Time: at, FromUser: true, Kind: msg.Type, Text: msg.Text}
		switch {
		case msg.Event == "unsubscribe":
			wx.Unfollow(appID, id)
		case !wx.Following(appID, id) || msg.Event == "subscribe":
			wx.Follow(appID, id) // only followers can write to an account
		}
		switch msg.Type {
		case "event":
			line.Text = "[" + msg.Event + " " + msg.EventKey + "]"
			if msg.Event == "subscribe" || msg.Event == "CLICK" || msg.Event == "SCAN" {
				wx.UserEvent(appID, id)
			}
		case "location":
			line.Text = "[发送位置]"
			wx.UserMessage(appID, id)
		default:
			wx.UserMessage(appID, id)
		}
		wx.NoteChat(appID, id, line)
		if reply.Empty() {
			return
		}
		r := wechattest.ChatLine{Time: at, Channel: "reply", Kind: "text", Text: reply.Text}
		for _, a := range reply.Articles {
			r.Kind = "news"
			r.Articles = append(r.Articles, wechattest.Article{Title: a.Title, Description: a.Description, URL: a.URL})
		}
		wx.NoteChat(appID, id, r)
	}
}
