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
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) != 1 {
		fmt.Fprintln(stderr, "usage: kepubot console passwd [--config FILE] NAME   (password on standard input)")
		return errUsage
	}
	name := rest[0]
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

// consoleRoles are the accounts made for a console on an embedded Redis,
// one per role, so that a newcomer can try the whole review workflow
// (nobody approves their own item).
var consoleRoles = []admin.Role{admin.RoleAdmin, admin.RoleEditor, admin.RoleReviewer, admin.RoleOrganizer}

// bootstrapConsole makes a console account per role in consoleRoles, named
// after the role, with one new random password, and tells w how to log in.
// It is for the embedded Redis only (serve on defaults, demo), where
// nothing outlives the process and `kepubot console passwd` cannot reach
// the data.
func (a *App) bootstrapConsole(ctx context.Context, w io.Writer) error {
	users := admin.NewUsers(a.rdb)
	password := randomHex(8)
	var adminToken string
	for _, role := range consoleRoles {
		u, err := users.Create(ctx, string(role), role, "bootstrap")
		if err != nil {
			return fmt.Errorf("console account %s: %w", role, err)
		}
		if role == admin.RoleAdmin {
			adminToken = u.Token
		}
		if err := a.console.SetPassword(ctx, u.ID, password); err != nil {
			return fmt.Errorf("console account %s: %w", role, err)
		}
	}
	fmt.Fprintf(w, "\nconsole: http://%s/console/  (embedded Redis: these accounts last until kepubot stops)\n", a.Addr())
	fmt.Fprintf(w, "  log in as admin, editor, reviewer or organizer — password %s\n", password)
	if a.cfg.Admin.Token == "" {
		// The CLI (kepubot campaign) needs a token; this one is the admin
		// account's, made anew each start like the password.
		fmt.Fprintf(w, "admin API token (for `bin/kepubot campaign list` in another terminal):\n  export KEPUBOT_ADMIN_TOKEN=%s\n", adminToken)
	}
	fmt.Fprintln(w)
	return nil
}
