package wechat

import (
	"context"
	"errors"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// Article is one news item of a customer-service message.
type Article struct {
	Title, Description, URL, PicURL string
}

// TemplateMessage is a template message (a service notice).
type TemplateMessage struct {
	ToUser     string
	TemplateID string
	URL        string
	Data       map[string]string // keyword → value
	// ClientMsgID makes the send idempotent: WeChat delivers one message
	// per id and returns the same msgid for a repeat.
	ClientMsgID string
}

// SubscribeMessage is a subscribe notification, sent after the user opted
// in to the template.
type SubscribeMessage struct {
	ToUser     string
	TemplateID string
	Page       string // URL opened when the user taps the notification
	Data       map[string]string
}

// SendText sends a customer-service text message. It fails with
// WindowClosed or QuotaUsed outside the user's open window.
func (c *Client) SendText(ctx context.Context, openID, text string) error {
	if openID == "" || text == "" {
		return errors.New("wechat send text: empty openid or text")
	}
	return c.do(ctx, "custom_send", func(string) error {
		return c.custom.Send(message.NewCustomerTextMessage(openID, text))
	})
}

// SendNews sends a customer-service news message with one article.
func (c *Client) SendNews(ctx context.Context, openID string, a Article) error {
	if openID == "" || a.Title == "" || a.URL == "" {
		return errors.New("wechat send news: empty openid, title or url")
	}
	msg := &message.CustomerMessage{
		ToUser:  openID,
		Msgtype: message.MsgTypeNews,
		News: &message.MediaNews{Articles: []message.MediaArticles{{
			Title: a.Title, Description: a.Description, URL: a.URL, Picurl: a.PicURL,
		}}},
	}
	return c.do(ctx, "custom_send", func(string) error { return c.custom.Send(msg) })
}

// SendTemplate sends a template message and returns its msgid.
func (c *Client) SendTemplate(ctx context.Context, m TemplateMessage) (msgID int64, err error) {
	if m.ToUser == "" || m.TemplateID == "" {
		return 0, errors.New("wechat send template: empty touser or template id")
	}
	data := make(map[string]*message.TemplateDataItem, len(m.Data))
	for k, v := range m.Data {
		data[k] = &message.TemplateDataItem{Value: v}
	}
	msg := &message.TemplateMessage{
		ToUser: m.ToUser, TemplateID: m.TemplateID, URL: m.URL, Data: data, ClientMsgID: m.ClientMsgID,
	}
	err = c.do(ctx, "template_send", func(string) error {
		var err error
		msgID, err = c.template.Send(msg)
		return err
	})
	return msgID, err
}

// SendSubscribe sends a subscribe notification (/cgi-bin/message/subscribe/bizsend).
func (c *Client) SendSubscribe(ctx context.Context, m SubscribeMessage) error {
	if m.ToUser == "" || m.TemplateID == "" {
		return errors.New("wechat send subscribe: empty touser or template id")
	}
	data := make(map[string]*message.SubscribeDataItem, len(m.Data))
	for k, v := range m.Data {
		data[k] = &message.SubscribeDataItem{Value: v}
	}
	msg := &message.SubscribeMessage{ToUser: m.ToUser, TemplateID: m.TemplateID, Page: m.Page, Data: data}
	return c.do(ctx, "subscribe_send", func(string) error { return c.sub.Send(msg) })
}
