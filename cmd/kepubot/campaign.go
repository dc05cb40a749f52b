package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const campaignUsage = `usage:
  kepubot campaign list
  kepubot campaign show|plan ID
  kepubot campaign create --name NAME [--audience EXPR] (--item ID | --personalized) [--send-at RFC3339]
  kepubot campaign start|pause|resume|cancel ID
flags before the verb: --server URL (default http://<KEPUBOT_HTTP_ADDR>), --token (default $KEPUBOT_ADMIN_TOKEN)
`

// cmdCampaign drives campaigns from a shell through a running kepubot's
// admin API, so roles, validation and the audit log apply as in the API.
func cmdCampaign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("campaign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "kepubot base URL")
	token := fs.String("token", getenv("KEPUBOT_ADMIN_TOKEN"), "admin API bearer token")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, campaignUsage)
		return errUsage
	}
	if *server == "" {
		cfg, err := LoadConfig("", getenv)
		if err != nil {
			return err
		}
		*server = "http://" + cfg.HTTP.Addr
	}
	c := adminClient{base: strings.TrimSuffix(*server, "/"), token: *token, out: stdout}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	switch verb {
	case "list":
		return c.do(ctx, "GET", "/api/v1/campaigns", nil)
	case "show", "plan", "start", "pause", "resume", "cancel":
		if len(rest) != 1 {
			fmt.Fprint(stderr, campaignUsage)
			return errUsage
		}
		switch verb {
		case "show":
			return c.do(ctx, "GET", "/api/v1/campaigns/"+rest[0], nil)
		case "plan":
			return c.do(ctx, "GET", "/api/v1/campaigns/"+rest[0]+"/plan", nil)
		}
		return c.do(ctx, "POST", "/api/v1/campaigns/"+rest[0]+"/"+verb, map[string]any{})
	case "create":
		cf := flag.NewFlagSet("campaign create", flag.ContinueOnError)
		cf.SetOutput(stderr)
		name := cf.String("name", "", "campaign name")
		audience := cf.String("audience", "", "segment expression (empty: everyone reachable)")
		item := cf.String("item", "", "item id to send")
		personalized := cf.Bool("personalized", false, "send each subscriber the best item for them")
		sendAt := cf.String("send-at", "", "start time, RFC 3339 (empty: start with `campaign start`)")
		if err := cf.Parse(rest); err != nil {
			return errUsage
		}
		body := map[string]any{"name": *name, "audience": *audience}
		if *item != "" {
			body["item_id"] = *item
		}
		if *personalized {
			body["mode"] = "personalized"
		}
		if *sendAt != "" {
			t, err := time.Parse(time.RFC3339, *sendAt)
			if err != nil {
				return fmt.Errorf("--send-at: %w", err)
			}
			body["send_at"] = t
		}
		return c.do(ctx, "POST", "/api/v1/campaigns", body)
	}
	fmt.Fprint(stderr, campaignUsage)
	return errUsage
}

// adminClient calls the admin API and prints its JSON answers.
type adminClient struct {
	base, token string
	out         io.Writer
}

func (c adminClient) do(ctx context.Context, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var pretty bytes.Buffer
	if json.Indent(&pretty, b, "", "  ") == nil {
		b = pretty.Bytes()
	}
	fmt.Fprintln(c.out, strings.TrimSpace(string(b)))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}
