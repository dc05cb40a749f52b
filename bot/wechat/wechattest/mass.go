package wechattest

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

const (
	massDedupWindow   = 24 * time.Hour
	massMonthlyBudget = 4 // per user per calendar month, service accounts
	massMaxOpenIDs    = 10000
)

// MassJob is the outcome of one mass send, as MASSSENDJOBFINISH reports it.
type MassJob struct {
	MsgID       int64
	MsgDataID   int64
	TotalCount  int // users targeted (tag members, all followers or the list)
	FilterCount int // users left after filtering (unfollowed, monthly budget)
	SentCount   int
	ErrorCount  int
}

type massDedup struct {
	msgID, dataID int64
	at            time.Time
}

// MassJob returns the job of a mass send by its msg_id.
func (s *Server) MassJob(appID string, msgID int64) (MassJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.mustApp(appID).massJobs[msgID]
	if !ok {
		return MassJob{}, false
	}
	return *j, true
}

// SetEventWebhook makes the fake POST a MASSSENDJOBFINISH event to url
// (plaintext mode, signed with the account's Token) after each mass send.
func (s *Server) SetEventWebhook(appID, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustApp(appID).webhook = url
}

type massBody struct {
	Filter *struct {
		IsToAll bool `json:"is_to_all"`
		TagID   int  `json:"tag_id"`
	} `json:"filter"`
	ToUser  []string `json:"touser"`
	MsgType string   `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	MPNews *struct {
		MediaID string `json:"media_id"`
	} `json:"mpnews"`
	ClientMsgID string `json:"clientmsgid"`
}

func (s *Server) handleMassSendAll(q *request) result {
	var b massBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	if b.Filter == nil {
		return fail(47001, "data format error")
	}
	var targets []string
	if b.Filter.IsToAll {
		targets = q.app.order
	} else {
		t, ok := q.app.tags[b.Filter.TagID]
		if !ok {
			// unsure: the errcode for sending to a missing tag.
			return fail(45159, "invalid tag id")
		}
		for _, id := range q.app.order {
			if q.app.users[id].hasTag(t.id) {
				targets = append(targets, id)
			}
		}
	}
	return s.massSend(q, &b, targets)
}

func (s *Server) handleMassSend(q *request) result {
	var b massBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	if len(b.ToUser) < 2 {
		return fail(40130, "invalid openid list size, at least two openid")
	}
	if len(b.ToUser) > massMaxOpenIDs {
		// unsure: WeChat documents the 10,000 limit; 40130 is the code of
		// its other list-size error.
		return fail(40130, "invalid openid list size, at most 10000 openid")
	}
	return s.massSend(q, &b, b.ToUser)
}

// massSend applies the rules shared by both mass-send APIs. Callers hold s.mu.
func (s *Server) massSend(q *request, b *massBody, targets []string) result {
	a := q.app
	var kind, content string
	switch b.MsgType {
	case "text":
		if b.Text == nil || isBlank(b.Text.Content) {
			return fail(44004, "empty content")
		}
		kind, content = "text", b.Text.Content
	case "mpnews":
		if b.MPNews == nil || b.MPNews.MediaID == "" {
			return fail(40007, "invalid media_id")
		}
		kind, content = "mpnews", b.MPNews.MediaID
	default:
		return fail(40008, "invalid message type")
	}
	if len(b.ClientMsgID) > 64 {
		// unsure: the errcode for an over-long clientmsgid.
		return fail(47001, "data format error: clientmsgid longer than 64 bytes")
	}
	if b.ClientMsgID != "" {
		if d, ok := a.massDedup[b.ClientMsgID]; ok && q.now.Sub(d.at) < massDedupWindow {
			// A duplicate costs no quota and returns the first msg_id.
			return result{code: 45065, body: map[string]any{
				"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": d.msgID,
			}}
		}
	}
	// unsure: WeChat documents 100 calls a day and 60 a minute for mass
	// sends; we answer both with 45009.
	if !a.quota("mass", "day", 100, q.now) || !a.quota("mass", "min", 60, q.now) {
		return fail(45009, "reach max api daily quota limit")
	}
	if a.acct.Type == SubscriptionAccount && !a.quota("mass_subscription", "day", 1, q.now) {
		return fail(45028, "has no masssend quota")
	}

	job := &MassJob{MsgID: s.nextID(), TotalCount: len(targets)}
	if kind == "mpnews" {
		job.MsgDataID = s.nextID()
	}
	month := q.now.In(shanghai).Format("2006-01")
	for _, id := range targets {
		u := a.user(id)
		if u == nil || !u.following {
			continue
		}
		if a.acct.Type == ServiceAccount {
			if u.massMonth[month] >= massMonthlyBudget {
				continue // silently filtered, as WeChat does
			}
			u.massMonth[month]++
		}
		job.FilterCount++
		job.SentCount++
		a.deliver(id, Message{Channel: "mass", Kind: kind, Content: content, MsgID: job.MsgID, Time: q.now})
	}
	a.massJobs[job.MsgID] = job
	if b.ClientMsgID != "" {
		a.massDedup[b.ClientMsgID] = massDedup{msgID: job.MsgID, dataID: job.MsgDataID, at: q.now}
	}
	if a.webhook != "" {
		s.postJobFinish(a.acct, a.webhook, *job, q.now)
	}
	body := map[string]any{"errcode": 0, "errmsg": "send job submission success", "msg_id": job.MsgID}
	if job.MsgDataID != 0 {
		body["msg_data_id"] = job.MsgDataID
	}
	return result{body: body}
}

// postJobFinish delivers the MASSSENDJOBFINISH event in the background.
// Callers hold s.mu.
func (s *Server) postJobFinish(acct Account, hook string, j MassJob, now time.Time) {
	xml := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName>"+
		"<FromUserName><![CDATA[mphelper]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType>"+
		"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>%d</MsgID>"+
		"<Status><![CDATA[send success]]></Status><TotalCount>%d</TotalCount>"+
		"<FilterCount>%d</FilterCount><SentCount>%d</SentCount><ErrorCount>%d</ErrorCount></xml>",
		cdataEscape(acct.OriginalID), now.Unix(), j.MsgID, j.TotalCount, j.FilterCount, j.SentCount, j.ErrorCount)
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := strconv.Itoa(s.rnd.Intn(1_000_000_000))
	v := url.Values{
		"signature": {util.Signature(acct.Token, ts, nonce)},
		"timestamp": {ts},
		"nonce":     {nonce},
	}
	sep := "?"
	if strings.Contains(hook, "?") {
		sep = "&"
	}
	target := hook + sep + v.Encode()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		resp, err := s.hook.Post(target, "text/xml", bytes.NewBufferString(xml))
		if err == nil {
			resp.Body.Close()
		}
	}()
}

func (u *user) hasTag(id int) bool { return slices.Contains(u.tags, id) }
