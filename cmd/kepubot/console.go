package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/console"
)

// cmdConsolePasswd sets a user's console password, read from standard
// input (never from the arguments, which other users can see). Create the
// user first through the admin API (POST /api/v1/users).
func cmdConsolePasswd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("console passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (default $KEPUBOT_CONFIG)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: kepubot console passwd [--config FILE] NAME   (password on standard input)")
		return errUsage
	}
	name := fs.Arg(0)
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	app, err := NewApp(ctx, cfg, newLogger(cfg, stderr), AppOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	users := admin.NewUsers(app.rdb)
	all, err := users.List(ctx)
	if err != nil {
		return err
	}
	var id string
	for _, u := range all {
		if u.Name == name {
			if id != "" {
				return fmt.Errorf("more than one user is named %q", name)
			}
			id = u.ID
		}
	}
	if id == "" {
		return fmt.Errorf("no user named %q: create it first (POST /api/v1/users)", name)
	}
	fmt.Fprintf(stderr, "password for %s: ", name)
	pw, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && pw == "" {
		return fmt.Errorf("read password: %w", err)
	}
	if err := console.NewAccounts(app.rdb, users).SetPassword(ctx, id, strings.TrimRight(pw, "\r\n")); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "console password of %s set\n", name)
	return nil
}
