package campaigntest

import (
	"context"
	"fmt"
	"sync"

	"github.com/zengcheng-kexie/kepubot/bot/wechat"
)

// Sender is a campaign.Sender that keeps exactly what the engine asked it
// to send, links included (the fake WeChat keeps only a news card's
// title). Lock it to read its fields while workers run.
type Sender struct {
	sync.Mutex
	News      map[string]wechat.Article         // by openid
	Templates map[string]wechat.TemplateMessage // by openid
	Mass      map[string]string                 // the text each openid was sent in a mass list
	Lists     [][]string                        // the mass lists, in order
	Texts     []string                          // their texts, in order
	Groups    []string                          // the sendall calls: "all" or "tag:<id>", in order
	GroupText []string                          // their texts, in order
	Custom    map[string]string                 // customer-service texts, by openid
}

// NewSender returns an empty Sender.
func NewSender() *Sender {
	return &Sender{News: map[string]wechat.Article{}, Templates: map[string]wechat.TemplateMessage{}, Mass: map[string]string{}, Custom: map[string]string{}}
}

// SendNews records a customer-service news message.
func (s *Sender) SendNews(_ context.Context, openID string, a wechat.Article) error {
	s.Lock()
	defer s.Unlock()
	s.News[openID] = a
	return nil
}

// SendText records a customer-service text message.
func (s *Sender) SendText(_ context.Context, openID, text string) error {
	s.Lock()
	defer s.Unlock()
	s.Custom[openID] = text
	return nil
}

// SendTemplate records a template message.
func (s *Sender) SendTemplate(_ context.Context, m wechat.TemplateMessage) (int64, error) {
	s.Lock()
	defer s.Unlock()
	s.Templates[m.ToUser] = m
	return int64(len(s.Templates)), nil
}

// MassSendToOpenIDs records a mass message to a list.
func (s *Sender) MassSendToOpenIDs(_ context.Context, openIDs []string, m wechat.MassMessage, _ string) (wechat.MassResult, error) {
	s.Lock()
	defer s.Unlock()
	for _, o := range openIDs {
		s.Mass[o] = m.Text
	}
	s.Lists = append(s.Lists, openIDs)
	s.Texts = append(s.Texts, m.Text)
	return wechat.MassResult{MsgID: int64(len(s.Lists))}, nil
}

// MassSendToTag records a mass message to a tag.
func (s *Sender) MassSendToTag(_ context.Context, tagID int, m wechat.MassMessage, _ string) (wechat.MassResult, error) {
	return s.group(fmt.Sprintf("tag:%d", tagID), m.Text), nil
}

// MassSendToAll records a mass message to every follower.
func (s *Sender) MassSendToAll(_ context.Context, m wechat.MassMessage, _ string) (wechat.MassResult, error) {
	return s.group("all", m.Text), nil
}

func (s *Sender) group(to, text string) wechat.MassResult {
	s.Lock()
	defer s.Unlock()
	s.Groups = append(s.Groups, to)
	s.GroupText = append(s.GroupText, text)
	return wechat.MassResult{MsgID: int64(1000 + len(s.Groups))}
}
