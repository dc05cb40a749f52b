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
	"text/tabwriter"
	"time"
)

const campaignUsage = `usage:
  kepubot campaign list [--table]
  kepubot campaign show|plan ID
  kepubot campaign create --name NAME [--audience EXPR] (--item ID | --personalized) [--send-at TIME]
  kepubot campaign start|pause|resume|cancel ID
  kepubot campaign start --wait ID     start, then show progress until it is done (Ctrl-C stops watching)
options (before or after the verb): --server URL (default http://<KEPUBOT_HTTP_ADDR>),
  --token TOKEN (default $KEPUBOT_ADMIN_TOKEN; ` + "`make run`" + ` prints one)
--send-at: "2027-05-18 08:00" in the district's time zone, or RFC 3339.
Times in answers are shown in the district's time zone.
`

// cmdCampaign drives campaigns from a shell through a running kepubot's
// admin API, so roles, validation and the audit log apply as in the API.
func cmdCampaign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("campaign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, campaignUsage) }
	server := fs.String("server", "", "kepubot base URL")
	token := fs.String("token", getenv("KEPUBOT_ADMIN_TOKEN"), "admin API bearer token")
	// create's options; any other verb refuses them.
	name := fs.String("name", "", "campaign name")
	audience := fs.String("audience", "", "segment expression (empty: everyone reachable)")
	item := fs.String("item", "", "item id to send")
	personalized := fs.Bool("personalized", false, "send each subscriber the best item for them")
	sendAt := fs.String("send-at", "", "start time (empty: start with `campaign start`)")
	table := fs.Bool("table", false, "list: a table instead of JSON")
	wait := fs.Bool("wait", false, "start: show progress until the campaign is done")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(words) == 0 {
		fmt.Fprint(stderr, campaignUsage)
		return errUsage
	}
	verb, rest := words[0], words[1:]
	if verb != "create" {
		var misplaced []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "server" && f.Name != "token" && (f.Name != "table" || verb != "list") && (f.Name != "wait" || verb != "start") {
				misplaced = append(misplaced, "--"+f.Name)
			}
		})
		if len(misplaced) > 0 {
			fmt.Fprintf(stderr, "kepubot campaign %s: %s do not go with %s\n\n%s", verb, strings.Join(misplaced, ", "), verb, campaignUsage)
			return errUsage
		}
	}
	cfg, err := LoadConfig("", getenv)
	if err != nil {
		return err
	}
	if *server == "" {
		*server = "http://" + cfg.HTTP.Addr
	}
	c := adminClient{base: strings.TrimSuffix(*server, "/"), token: *token, out: stdout, loc: cfg.loc}
	switch verb {
	case "list":
		if len(rest) != 0 {
			break
		}
		if *table {
			return c.table(ctx)
		}
		return c.do(ctx, "GET", "/api/v1/campaigns", nil)
	case "show", "plan", "start", "pause", "resume", "cancel":
		if len(rest) != 1 {
			break
		}
		switch verb {
		case "show":
			return c.do(ctx, "GET", "/api/v1/campaigns/"+rest[0], nil)
		case "plan":
			return c.do(ctx, "GET", "/api/v1/campaigns/"+rest[0]+"/plan", nil)
		}
		if err := c.do(ctx, "POST", "/api/v1/campaigns/"+rest[0]+"/"+verb, map[string]any{}); err != nil || !*wait {
			return err
		}
		return c.watch(ctx, rest[0], stderr, time.Second)
	case "create":
		if len(rest) != 0 {
			break
		}
		body := map[string]any{"name": *name, "audience": *audience}
		if *item != "" {
			body["item_id"] = *item
		}
		if *personalized {
			body["mode"] = "personalized"
		}
		if *sendAt != "" {
			t, err := parseSendAt(*sendAt, cfg.loc)
			if err != nil {
				return err
			}
			body["send_at"] = t
		}
		return c.do(ctx, "POST", "/api/v1/campaigns", body)
	default:
		fmt.Fprintf(stderr, "kepubot campaign: unknown verb %q\n\n", verb)
	}
	fmt.Fprint(stderr, campaignUsage)
	return errUsage
}

// watch prints a campaign's progress to w, a line whenever it changes,
// until the campaign is done or cancelled (or ctx ends).
func (c adminClient) watch(ctx context.Context, id string, w io.Writer, every time.Duration) error {
	last := ""
	start := time.Now()
	for {
		var buf bytes.Buffer
		raw := c
		raw.out, raw.loc = &buf, nil
		if err := raw.do(ctx, "GET", "/api/v1/campaigns/"+id, nil); err != nil {
			return err
		}
		var cur struct {
			Status string `json:"status"`
			Stats  struct {
				Queued, Sent, Failed, Skipped, Pending int64
				// Waiting says why a campaign holds (quiet hours, no
				// WeChat API), when the server reports it.
				Waiting *struct {
					Reason string     `json:"reason"`
					Until  *time.Time `json:"until"`
				} `json:"waiting"`
			} `json:"stats"`
		}
		if err := json.Unmarshal(buf.Bytes(), &cur); err != nil {
			return fmt.Errorf("campaign %s: %w", id, err)
		}
		st := cur.Stats
		line := fmt.Sprintf("%s: sent %d, skipped %d, failed %d, pending %d of %d", cur.Status, st.Sent, st.Skipped, st.Failed, st.Pending, st.Queued)
		if wt := st.Waiting; wt != nil && wt.Reason != "" {
			line += " — waiting: " + wt.Reason
			if wt.Until != nil && c.loc != nil {
				line += " until " + wt.Until.In(c.loc).Format("2006-01-02 15:04")
			}
		}
		if line != last {
			fmt.Fprintf(w, "%s (%s)\n", line, time.Since(start).Round(time.Second))
			last = line
		}
		if cur.Status == "done" || cur.Status == "cancelled" {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil // stopped watching; the campaign goes on
		case <-time.After(every):
		}
	}
}

// table prints the campaign list as a table, times in the district's zone.
func (c adminClient) table(ctx context.Context) error {
	var buf bytes.Buffer
	raw := c
	raw.out, raw.loc = &buf, nil
	if err := raw.do(ctx, "GET", "/api/v1/campaigns", nil); err != nil {
		fmt.Fprint(c.out, buf.String())
		return err
	}
	var cs []struct {
		ID, Name, Status, Audience, Mode string
		ItemID                           string    `json:"item_id"`
		Planned                          int64     `json:"planned"`
		CreatedAt                        time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(buf.Bytes(), &cs); err != nil {
		return fmt.Errorf("campaign list: %w", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tPLANNED\tNAME\tAUDIENCE")
	for _, x := range cs {
		audience := x.Audience
		if audience == "" {
			audience = "(everyone)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", x.ID, x.Status, x.CreatedAt.In(c.loc).Format("2006-01-02 15:04"), x.Planned, x.Name, audience)
	}
	return tw.Flush()
}

// adminClient calls the admin API and prints its JSON answers, times in
// the district's zone.
type adminClient struct {
	base, token string
	out         io.Writer
	loc         *time.Location
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
		return unreachable(err, c.base)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if c.loc != nil && json.Unmarshal(b, &v) == nil {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false) // audiences read `a & b`
		enc.SetIndent("", "  ")
		if enc.Encode(localTimes(v, c.loc)) == nil {
			b = out.Bytes()
		}
	}
	fmt.Fprintln(c.out, strings.TrimSpace(string(b)))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%s %s: %s: the token was refused; give the admin token with --token or KEPUBOT_ADMIN_TOKEN (`make run` prints one)", method, path, resp.Status)
	case resp.StatusCode >= 300:
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}
