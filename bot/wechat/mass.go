package wechat

import (
	"context"
	"errors"
	"fmt"
)

// Mass-send limits.
const (
	MassMinOpenIDs     = 2
	MassMaxOpenIDs     = 10000
	maxClientMsgIDSize = 64 // bytes
)

// MassMessage is the content of a mass send: Text, or MediaID of an
// uploaded news (mpnews) draft.
type MassMessage struct {
	Text    string
	MediaID string
}

// MassResult identifies a mass send.
type MassResult struct {
	MsgID     int64
	MsgDataID int64 // only for news
}

type massText struct {
	Content string `json:"content"`
}

type massMedia struct {
	MediaID string `json:"media_id"`
}

type massRequest struct {
	Filter *massFilter `json:"filter,omitempty"`
	ToUser []string    `json:"touser,omitempty"`

	MsgType           string     `json:"msgtype"`
	Text              *massText  `json:"text,omitempty"`
	MPNews            *massMedia `json:"mpnews,omitempty"`
	SendIgnoreReprint int        `json:"send_ignore_reprint,omitempty"`
	ClientMsgID       string     `json:"clientmsgid,omitempty"`
}

type massFilter struct {
	IsToAll bool `json:"is_to_all"`
	TagID   int  `json:"tag_id,omitempty"`
}

type massAnswer struct {
	apiResult
	MsgID     int64 `json:"msg_id"`
	MsgDataID int64 `json:"msg_data_id"`
}

func (m MassMessage) fill(r *massRequest) error {
	switch {
	case m.Text != "" && m.MediaID != "":
		return errors.New("mass message: set Text or MediaID, not both")
	case m.Text != "":
		r.MsgType, r.Text = "text", &massText{Content: m.Text}
	case m.MediaID != "":
		r.MsgType, r.MPNews = "mpnews", &massMedia{MediaID: m.MediaID}
	default:
		return errors.New("mass message: empty")
	}
	return nil
}

// MassSendToOpenIDs mass-sends m to 2–10,000 users. clientMsgID (≤64 bytes)
// makes the send idempotent for 24 hours: a repeat fails with Duplicate,
// and the *Error carries the first send's MsgID.
func (c *Client) MassSendToOpenIDs(ctx context.Context, openIDs []string, m MassMessage, clientMsgID string) (MassResult, error) {
	if n := len(openIDs); n < MassMinOpenIDs || n > MassMaxOpenIDs {
		return MassResult{}, fmt.Errorf("wechat mass send: %d openids, want %d-%d", n, MassMinOpenIDs, MassMaxOpenIDs)
	}
	return c.massSend(ctx, "mass_send", "/cgi-bin/message/mass/send", &massRequest{ToUser: openIDs}, m, clientMsgID)
}

// MassSendToTag mass-sends m to the followers with tagID; see
// MassSendToOpenIDs for clientMsgID.
func (c *Client) MassSendToTag(ctx context.Context, tagID int, m MassMessage, clientMsgID string) (MassResult, error) {
	req := &massRequest{Filter: &massFilter{TagID: tagID}}
	return c.massSend(ctx, "mass_sendall", "/cgi-bin/message/mass/sendall", req, m, clientMsgID)
}

// MassSendToAll mass-sends m to every follower of the account (is_to_all);
// see MassSendToOpenIDs for clientMsgID.
func (c *Client) MassSendToAll(ctx context.Context, m MassMessage, clientMsgID string) (MassResult, error) {
	req := &massRequest{Filter: &massFilter{IsToAll: true}}
	return c.massSend(ctx, "mass_sendall", "/cgi-bin/message/mass/sendall", req, m, clientMsgID)
}

func (c *Client) massSend(ctx context.Context, op, path string, req *massRequest, m MassMessage, clientMsgID string) (MassResult, error) {
	if len(clientMsgID) > maxClientMsgIDSize {
		return MassResult{}, fmt.Errorf("wechat %s: clientmsgid is %d bytes, max %d", op, len(clientMsgID), maxClientMsgIDSize)
	}
	if err := m.fill(req); err != nil {
		return MassResult{}, fmt.Errorf("wechat %s: %w", op, err)
	}
	req.ClientMsgID = clientMsgID
	var ans massAnswer
	err := c.do(ctx, op, func(tok string) error {
		ans = massAnswer{}
		err := postJSON(ctx, op, path, tok, req, &ans)
		var we *Error
		if errors.As(err, &we) && we.Code == 45065 {
			we.MsgID = ans.MsgID
		}
		return err
	})
	if err != nil {
		return MassResult{}, err
	}
	return MassResult{MsgID: ans.MsgID, MsgDataID: ans.MsgDataID}, nil
}
