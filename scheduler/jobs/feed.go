package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/feed"
	"github.com/zengcheng-kexie/kepubot/content/importer"
)

// FeedImport returns the feed-import job: pull every source (conditional
// requests, so an unchanged feed costs a 304) and import what changed into
// account's library. The importer is idempotent by external_id, so a
// second run of a tick imports nothing new. Items of untrusted feeds
// enter as drafts for review.
func FeedImport(f *feed.Fetcher, sources []feed.Source, store *content.Store, account string, opts importer.Options, logger *slog.Logger) func(context.Context, Tick) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log := logger.With("component", "feed-import")
	return func(ctx context.Context, tick Tick) error {
		var errs []error
		for _, out := range f.FetchAll(ctx, sources) {
			if out.Err != nil {
				errs = append(errs, fmt.Errorf("feed %s: %w", out.Source.Name, out.Err))
				continue
			}
			if out.Result.NotModified {
				continue
			}
			o := opts
			o.Trusted = o.Trusted && out.Source.Trusted
			rep, err := importBody(ctx, store, account, out.Source, out.Result, o)
			if err != nil {
				errs = append(errs, fmt.Errorf("feed %s: %w", out.Source.Name, err))
				continue
			}
			log.Info("feed imported", "feed", out.Source.Name, "tick", tick.ID, "created", rep.Created, "updated", rep.Updated, "failed", rep.Failed)
		}
		return errors.Join(errs...)
	}
}

// importBody hands a feed document to the importer, which reads files: it
// is written to a temporary file whose extension tells JSON from YAML.
func importBody(ctx context.Context, store *content.Store, account string, src feed.Source, res feed.Result, opts importer.Options) (importer.Report, error) {
	ext := ".yaml"
	if strings.Contains(res.ContentType, "json") {
		ext = ".json"
	}
	dir, err := os.MkdirTemp("", "kbfeed")
	if err != nil {
		return importer.Report{}, fmt.Errorf("import feed: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "feed"+ext) // src.Name is logged by the caller
	if err := os.WriteFile(path, res.Body, 0o600); err != nil {
		return importer.Report{}, fmt.Errorf("import feed: %w", err)
	}
	return importer.Import(ctx, store, account, []string{path}, opts)
}
