package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/wechat"
)

// cmdMenuPublish publishes an account's custom menu from config. Each
// button with a key sends that key to the bot as a typed command would.
func cmdMenuPublish(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("menu publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (default $KEPUBOT_CONFIG)")
	account := fs.String("account", "", "account id (default: the default account, wechat.id)")
	if rest, err := parseInterspersed(fs, args); err != nil || len(rest) > 0 {
		fmt.Fprintf(stderr, "usage: kepubot menu publish [--config FILE] [--account ID]   (unexpected: %s)\n", strings.Join(rest, " "))
		return errUsage
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	app, err := NewApp(ctx, cfg, newLogger(cfg, stderr), AppOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	if *account == "" {
		*account = cfg.WeChat.ID
	}
	ac, ok := app.accountConfig(*account)
	if !ok {
		return fmt.Errorf("no account %q in config", *account)
	}
	client, ok := app.wechat[*account]
	if !ok {
		return fmt.Errorf("account %q has no app secret: cannot call WeChat", *account)
	}
	if err := client.PublishMenu(ctx, toMenu(ac.Menu)); err != nil {
		return fmt.Errorf("publish menu: %w", err)
	}
	fmt.Fprintf(stdout, "menu of account %s published (%d buttons)\n", *account, len(ac.Menu))
	return nil
}

func toMenu(bs []MenuButton) []wechat.MenuButton {
	out := make([]wechat.MenuButton, 0, len(bs))
	for _, b := range bs {
		m := wechat.MenuButton{Name: b.Name, Key: b.Key, URL: b.URL, Sub: toMenu(b.Sub)}
		switch {
		case len(b.Sub) > 0:
		case b.URL != "":
			m.Type = "view"
		default:
			m.Type = "click"
		}
		out = append(out, m)
	}
	return out
}
