// Command kepubot delivers popular-science content to a district's
// residents through a WeChat Official Account.
//
//	kepubot serve            run the webhook, admin API and workers
//	kepubot version          print the version
//	kepubot menu publish     publish the custom menu from config
//
// Run `kepubot help` for every command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stdin = os.Stdin
	// go-redis prints its own lines to stderr (a failed dial, twice, before
	// our error says the same in words): send them to slog at debug level.
	redis.SetLogger(redisLog{})
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kepubot:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// stdin is where commands read secrets from (a test may replace it).
var stdin io.Reader = strings.NewReader("")

const usage = `kepubot — precise popular-science delivery over WeChat

Usage:
  kepubot demo [--days N] [--keep-running]      the whole system on one machine: simulated
                                                WeChat and residents, a week fast-forwarded
  kepubot simulate [--residents N] [--weeks W] [--seed S] [--out DIR]
                                                a seeded district through the real service:
                                                click-through of personalized, group-only and
                                                random pushes, week by week
  kepubot serve [--config FILE] [--roles R,...] run the service (roles: web, worker, scheduler; default all)
  kepubot menu publish [--config FILE] [--account ID]
                                                publish the custom menu from config to WeChat
  kepubot content import [--account ID] [--all-or-nothing] [--trusted] [--embedded] PATH...
                                                import items, questions, competitions, events
                                                (YAML, JSON, CSV files or folders) into the
                                                Redis of KEPUBOT_REDIS_URL
  kepubot campaign list|show|plan|create|start|pause|resume|cancel ...
                                                campaigns, through a running kepubot's admin API
  kepubot chat --as NAME [--server URL]         chat with a running kepubot as a resident
                                                (lines from stdin, signed like WeChat)
  kepubot console passwd NAME                   set a user's console password (read from stdin)
  kepubot bench [--subscribers N] [--redis-url URL] [--per-message N] [--webhook N] [--chart FILE]
                                                a whole-district run against the fake WeChat:
                                                import, counts, plan, delivery, webhook, timed
                                                beside baselines; prints a Markdown report
  kepubot version                               print the version

With no configuration kepubot runs on an embedded Redis and a development
WeChat identity. Configuration: configs/kepubot.example.yaml and KEPUBOT_*
environment variables (see README.md).
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr, getenv)
	case "menu":
		if len(args) < 2 || args[1] != "publish" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return cmdMenuPublish(ctx, args[2:], stdout, stderr, getenv)
	case "console":
		if len(args) < 2 || args[1] != "passwd" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return cmdConsolePasswd(ctx, args[2:], stdin, stdout, stderr, getenv)
	case "campaign":
		return cmdCampaign(ctx, args[1:], stdout, stderr, getenv)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr, getenv)
	case "simulate":
		return cmdSimulate(ctx, args[1:], stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr, getenv)
	case "chat":
		return cmdChat(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "content":
		if len(args) < 2 || args[1] != "import" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return cmdContentImport(ctx, args[2:], stdout, stderr, getenv)
	case "version", "--version":
		fmt.Fprintln(stdout, "kepubot", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "kepubot: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (default $KEPUBOT_CONFIG)")
	roles := fs.String("roles", "", "what this replica does: web,worker,scheduler (default $KEPUBOT_ROLES, else all)")
	if rest, err := parseInterspersed(fs, args); err != nil || len(rest) > 0 {
		fmt.Fprintf(stderr, "usage: kepubot serve [--config FILE] [--roles web,worker,scheduler]   (unexpected: %s)\n", strings.Join(rest, " "))
		return errUsage
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if *roles != "" {
		if cfg.Roles, err = parseRoles(*roles); err != nil {
			return fmt.Errorf("kepubot serve --roles: %w", err)
		}
	}
	// The log and the console notice share stderr: one writer, one lock.
	stderr = &lockedWriter{w: stderr}
	logger := newLogger(cfg, stderr)
	// Start-up runs to the end even if a signal arrives meanwhile; the
	// signal then stops the service at once.
	setup := context.WithoutCancel(ctx)
	app, err := NewApp(setup, cfg, logger, AppOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.Start(setup); err != nil {
		return err
	}
	if app.mini != nil {
		if err := app.bootstrapConsole(setup, stderr); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "chat with the bot as a resident, in another terminal:\n  bin/kepubot chat --server http://%s --as 小王   (bin/kepubot is what make run built; or: go run ./cmd/kepubot chat ...)\n\n", app.Addr())
	}
	// SIGHUP reads the configuration again and serves the accounts added
	// to it; the others' traffic goes on.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down")
			return nil
		case <-hup:
			next, err := LoadConfig(*configPath, getenv)
			if err != nil {
				logger.Error("configuration not reloaded", "err", err)
				continue
			}
			added, err := app.reloadAccounts(next)
			if err != nil {
				logger.Error("accounts not reloaded", "err", err)
			}
			logger.Info("configuration reloaded", "accounts_added", strings.Join(added, ","))
		}
	}
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redisLog passes go-redis's internal log lines to slog's default logger
// at debug level.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return bi.Main.Version + " " + s.Value[:12]
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "(devel)"
}
