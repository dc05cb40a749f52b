package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/zengcheng-kexie/kepubot/configs"
	"github.com/zengcheng-kexie/kepubot/content/importer"
)

// cmdContentImport imports items, questions, competitions and events from
// YAML, JSON or CSV files or folders. It prints every problem with its file
// and line, and fails when any record was bad.
func cmdContentImport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("content import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (default $KEPUBOT_CONFIG)")
	account := fs.String("account", "", "the account whose library receives the records (default: the default account, wechat.id)")
	allOrNothing := fs.Bool("all-or-nothing", false, "import nothing unless every record is valid")
	trusted := fs.Bool("trusted", false, "publish imported items directly (a trusted, already reviewed source)")
	embedded := fs.Bool("embedded", false, "import into a throw-away embedded Redis when KEPUBOT_REDIS_URL is empty (checks the files; nothing is kept)")
	paths, err := parseInterspersed(fs, args)
	if err != nil || len(paths) == 0 {
		fmt.Fprintln(stderr, "usage: kepubot content import [--account ID] [--all-or-nothing] [--trusted] [--embedded] PATH...")
		return errUsage
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if *account == "" {
		*account = cfg.WeChat.ID
	}
	if _, ok := cfg.account(*account); !ok {
		return fmt.Errorf("content import: --account %q is not a configured account (wechat.id or accounts[].id)", *account)
	}
	if cfg.Redis.URL == "" && !*embedded {
		return errors.New("content import: KEPUBOT_REDIS_URL is not set, so this would write into an embedded Redis " +
			"that is thrown away when the command ends (a running `kepubot serve` or `make run` would not see it). " +
			"Set KEPUBOT_REDIS_URL to the server's Redis, or add --embedded to only check the files")
	}
	app, err := NewApp(ctx, cfg, newLogger(cfg, stderr), AppOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	start := time.Now()
	rep, err := importer.Import(ctx, app.content, *account, paths,
		importer.Options{AllOrNothing: *allOrNothing, Trusted: *trusted, Vocabulary: importer.Vocabulary(app.tax), By: "cli",
			Progress: func(done, total int) {
				if done%importProgressEvery == 0 && done < total {
					fmt.Fprintf(stderr, "imported %d of %d records…\n", done, total)
				}
			}})
	if err != nil {
		return err
	}
	for _, p := range rep.Errors {
		fmt.Fprintln(stderr, p.String())
	}
	fmt.Fprintf(stdout, "created %d, updated %d, unchanged %d, failed %d\n", rep.Created, rep.Updated, rep.Unchanged, rep.Failed)
	fmt.Fprintf(stderr, "import took %s\n", time.Since(start).Round(100*time.Millisecond))
	if !rep.OK() {
		return fmt.Errorf("%d problems", len(rep.Errors))
	}
	return nil
}

// importProgressEvery is how many records a long import writes between
// two progress lines.
const importProgressEvery = 1000

// importSamples loads the embedded sample library, published, into the
// default account: the zero-setup mode starts with content to search and
// send, and events and competitions dated around today (samples.go).
// Importing is idempotent, so a second start changes nothing.
func (a *App) importSamples(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "kepubot-samples")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	err = fs.WalkDir(configs.Samples, "samples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := configs.Samples.ReadFile(path)
		if err != nil {
			return err
		}
		if filepath.Base(path) == "events.yaml" {
			// Dated around today, so that 答题 and 报名 find something.
			if b, err = shiftSampleDates(b, sampleShiftDays(a.now(), a.cfg.loc)); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o600)
	})
	if err != nil {
		return err
	}
	rep, err := importer.Import(ctx, a.content, a.cfg.WeChat.ID, []string{dir},
		importer.Options{Trusted: true, Vocabulary: importer.Vocabulary(a.tax), By: "samples"})
	if err != nil {
		return err
	}
	a.logger.Info("sample content loaded", "created", rep.Created, "unchanged", rep.Unchanged, "failed", rep.Failed)
	return nil
}
