package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const chatUsage = `usage: kepubot chat --as NAME [--server URL] [--token TOKEN] [--account ID]
Chat with a running kepubot as the resident NAME (the same NAME is the same
resident every time): each line you type is sent to the webhook signed as
WeChat signs it, and the bot's answer is printed.
  --server   kepubot's base URL (default http://<KEPUBOT_HTTP_ADDR>)
  --token    the webhook token (default KEPUBOT_WECHAT_TOKEN, "kepubot" for make run)
  --account  the Official Account id (default: the default account, /wechat)
Besides text:  /follow  /unfollow  /location LAT LON  /click KEY  /scan SCENE  /quit
`

// cmdChat is a terminal chat with a running kepubot as one resident: the
// way to try the bot without a phone, `make run` in another terminal.
func cmdChat(ctx context.Context, args []string, in io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, chatUsage) }
	configPath := fs.String("config", "", "configuration file (default $KEPUBOT_CONFIG)")
	as := fs.String("as", "", "the resident's name")
	server := fs.String("server", "", "kepubot base URL")
	token := fs.String("token", "", "webhook token")
	account := fs.String("account", "", "account id")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(rest) > 0 || strings.TrimSpace(*as) == "" {
		fmt.Fprint(stderr, chatUsage)
		return errUsage
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if *server == "" {
		*server = "http://" + cfg.HTTP.Addr
	}
	hook := strings.TrimSuffix(*server, "/") + "/wechat"
	if *account != "" && *account != cfg.WeChat.ID {
		hook += "/" + url.PathEscape(*account)
	}
	if *token == "" {
		*token = cfg.WeChat.Token
		if ac, ok := cfg.account(*account); ok {
			*token = ac.Token
		}
	}
	c := chatClient{hook: hook, base: *server, token: *token, openID: chatOpenID(*as), http: &http.Client{Timeout: 10 * time.Second}}
	fmt.Fprintf(stderr, "chatting with %s as %s (openid %s); /quit or Ctrl-D ends\n", *server, *as, c.openID)
	sc := bufio.NewScanner(in)
	for {
		fmt.Fprint(stderr, "> ")
		if !sc.Scan() {
			fmt.Fprintln(stderr)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line == "/quit" {
			return nil
		}
		body, err := c.message(line)
		if err != nil {
			fmt.Fprintln(stderr, err)
			continue
		}
		reply, err := c.post(ctx, body)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, reply)
	}
}

// chatOpenID is the stable openid of a chat resident: 28 characters like
// WeChat's, the same for the same name.
func chatOpenID(name string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(name)))
	return chatOpenIDPrefix + hex.EncodeToString(sum[:])[:23]
}

// chatOpenIDPrefix starts every chat resident's openid.
const chatOpenIDPrefix = "oChat"

type chatClient struct {
	hook, base, token, openID string
	http                      *http.Client
}

// message builds the XML WeChat would post for one typed line.
func (c chatClient) message(line string) ([]byte, error) {
	now := time.Now().Unix()
	head := "<xml><ToUserName><![CDATA[gh_kepubot]]></ToUserName><FromUserName><![CDATA[" + c.openID +
		"]]></FromUserName><CreateTime>" + strconv.FormatInt(now, 10) + "</CreateTime>"
	event := func(name, key string, extra string) []byte {
		return []byte(head + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[" + name + "]]></Event>" +
			"<EventKey>" + cdataOf(key) + "</EventKey>" + extra + "</xml>")
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/follow":
		return event("subscribe", "", ""), nil
	case "/unfollow":
		return event("unsubscribe", "", ""), nil
	case "/click":
		return event("CLICK", arg, ""), nil
	case "/scan":
		return event("SCAN", arg, ""), nil
	case "/location":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return nil, fmt.Errorf("usage: /location LAT LON, e.g. /location 23.63 113.83")
		}
		lat, err1 := strconv.ParseFloat(f[0], 64)
		lon, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("/location: %q is not two numbers", arg)
		}
		return []byte(head + "<MsgType><![CDATA[location]]></MsgType><Location_X>" + strconv.FormatFloat(lat, 'f', -1, 64) +
			"</Location_X><Location_Y>" + strconv.FormatFloat(lon, 'f', -1, 64) + "</Location_Y><Scale>15</Scale>" +
			"<Label><![CDATA[]]></Label><MsgId>" + strconv.FormatInt(msgID(), 10) + "</MsgId></xml>"), nil
	}
	if len(cmd) > 1 && cmd[0] == '/' && cmd[1] >= 'a' && cmd[1] <= 'z' {
		return nil, fmt.Errorf("unknown command %s (/follow /unfollow /location LAT LON /click KEY /scan SCENE /quit)", cmd)
	}
	return []byte(head + "<MsgType><![CDATA[text]]></MsgType><Content>" + cdataOf(line) + "</Content><MsgId>" +
		strconv.FormatInt(msgID(), 10) + "</MsgId></xml>"), nil
}

func cdataOf(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// msgID is a fresh MsgId: WeChat's are 64-bit and unique.
func msgID() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 1)
}

// post signs and posts one message and returns what the phone would show.
func (c chatClient) post(ctx context.Context, body []byte) (string, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := strconv.FormatInt(msgID()%1_000_000_000, 10)
	q := url.Values{"signature": {wechatSignature(c.token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "openid": {c.openID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.hook+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", unreachable(err, c.base)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return "", fmt.Errorf("the webhook refused the signature: --token must be the server's webhook token (KEPUBOT_WECHAT_TOKEN)")
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("%s: no such webhook (is --account right?)", c.hook)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("the webhook answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	return chatReply(raw)
}

// chatReply renders a passive reply as text.
func chatReply(raw []byte) (string, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "success" {
		return "（公众号没有回复）", nil
	}
	var m struct {
		MsgType  string `xml:"MsgType"`
		Content  string `xml:"Content"`
		Articles []struct {
			Title       string `xml:"Title"`
			Description string `xml:"Description"`
			URL         string `xml:"Url"`
		} `xml:"Articles>item"`
	}
	if err := xml.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("the webhook's answer is not a WeChat reply: %w", err)
	}
	if m.MsgType == "news" {
		var b strings.Builder
		for i, a := range m.Articles {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "【%s】%s\n%s", a.Title, a.Description, a.URL)
		}
		return b.String(), nil
	}
	return m.Content, nil
}

// wechatSignature is WeChat's URL signature: sha1 of the sorted token,
// timestamp and nonce.
func wechatSignature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}
