package main

import (
	"context"
	"fmt"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// Accounts are configured (wechat and accounts: in the config file) or
// added while running (POST /api/v1/accounts): those are kept in Redis
// (admin.AccountStore) and every replica adds them within
// accountsCheck, without a restart and without pausing the others'
// traffic.

// accountsCheck is how often a replica looks for accounts another one
// added.
const accountsCheck = 2 * time.Second

// accounts lists every account served, the default first.
func (a *App) accounts() []*AccountConfig {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append(a.cfg.allAccounts(), a.extra...)
}

// accountConfig returns the configuration of account id.
func (a *App) accountConfig(id string) (*AccountConfig, bool) {
	for _, ac := range a.accounts() {
		if ac.ID == id {
			return ac, true
		}
	}
	return nil, false
}

// wechatOf returns account's WeChat API client, if it has credentials.
func (a *App) wechatOf(account string) (*wechat.Client, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	c, ok := a.wechat[account]
	return c, ok
}

// queueOf returns account's delivery queue (nil for an unknown account).
func (a *App) queueOf(account string) *queue.Queue {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.delivery.queues[account]
}

// addAccountAPI serves POST /api/v1/accounts: it validates the account
// as the config loader would, stores it for every replica and serves it
// here at once.
func (a *App) addAccountAPI(ctx context.Context, in admin.AccountInput) (admin.AccountInfo, error) {
	ac := AccountConfig{ID: in.ID, Name: in.Name, AppID: in.AppID, AppSecret: in.AppSecret, Token: in.Token,
		AESKey: in.AESKey, EncodingMode: in.EncodingMode, Type: in.Type, APIBase: a.cfg.WeChat.APIBase}
	if err := a.checkAccount(&ac); err != nil {
		return admin.AccountInfo{}, err
	}
	in.EncodingMode, in.Type = ac.EncodingMode, ac.Type
	if err := a.stored.Save(ctx, in); err != nil {
		return admin.AccountInfo{}, err
	}
	if err := a.serveAccount(&ac); err != nil {
		return admin.AccountInfo{}, err
	}
	a.logger.Info("account added", "account", ac.ID)
	return a.accountInfo(&ac, false), nil
}

// checkAccount validates ac as a config entry: its fields, and an id,
// AppID, token and AES key of its own (400 or 409 otherwise).
func (a *App) checkAccount(ac *AccountConfig) error {
	if err := ac.validate("account", false); err != nil {
		return admin.Invalid(nil, "%s", err.Error())
	}
	if ac.production() && ac.Token == defaultWebhookToken {
		return admin.Invalid(map[string]string{"token": "the public default token"}, "choose your own token")
	}
	seen := map[string]string{}
	for _, other := range a.accounts() {
		if err := other.unique(other.ID, seen); err != nil {
			return err
		}
	}
	if err := ac.unique("the new account", seen); err != nil {
		return fmt.Errorf("%w: %v", admin.ErrConflict, err)
	}
	return nil
}

// serveAccount starts serving a validated account on this replica: its
// WeChat client, webhook, delivery queue and workers, calendar jobs, and
// its place in the admin API, the console and chat search.
func (a *App) serveAccount(ac *AccountConfig) error {
	var client *wechat.Client
	if ac.AppSecret != "" {
		c, err := a.newWeChatClient(ac)
		if err != nil {
			return err
		}
		client = c
	}
	q, err := queue.New(a.rdb, queue.Options{Name: ac.ID, Logger: a.logger, Registerer: a.reg, Now: a.now})
	if err != nil {
		return err
	}
	cs := a.delivery.engine
	calendar, err := a.accountJobs(cs, ac.ID)
	if err != nil {
		return err
	}
	if err := a.webhook.AddAccount(bot.Account{ID: ac.ID, AppID: ac.AppID, AppSecret: ac.AppSecret, Token: ac.Token,
		EncodingAESKey: ac.AESKey, EncodingMode: ac.EncodingMode}); err != nil {
		return err
	}
	if err := a.delivery.sched.Add(calendar...); err != nil {
		return err
	}
	a.mu.Lock()
	a.extra = append(a.extra, ac)
	if client != nil {
		a.wechat[ac.ID] = client
	}
	a.delivery.queues[ac.ID] = q
	bg := a.bg
	if bg != nil && a.cfg.has(RoleWorker) {
		a.bgWG.Go(func() { a.runQueue(bg, ac.ID, q) })
	}
	a.mu.Unlock()
	a.admin.AddAccount(ac.ID)
	a.console.AddAccount(ac.ID, ac.Name)
	return nil
}

// reloadAccounts serves the accounts of next (the configuration read
// again, on SIGHUP) that this replica does not serve yet, and returns
// their ids. A changed or removed account needs a restart: it is logged,
// not applied.
func (a *App) reloadAccounts(next *Config) ([]string, error) {
	var added []string
	for _, ac := range next.allAccounts() {
		cur, ok := a.accountConfig(ac.ID)
		if ok {
			if cur.AppID != ac.AppID || cur.Token != ac.Token || cur.AESKey != ac.AESKey || cur.AppSecret != ac.AppSecret {
				a.logger.Warn("account changed in the configuration: restart to apply", "account", ac.ID)
			}
			continue
		}
		ac := *ac
		if ac.APIBase != a.cfg.WeChat.APIBase {
			return added, fmt.Errorf("accounts %q: api_base must equal wechat.api_base", ac.ID)
		}
		if err := a.checkAccount(&ac); err != nil {
			return added, fmt.Errorf("account %s: %w", ac.ID, err)
		}
		if err := a.serveAccount(&ac); err != nil {
			return added, fmt.Errorf("account %s: %w", ac.ID, err)
		}
		added = append(added, ac.ID)
	}
	return added, nil
}

// loadAccounts serves the stored accounts this replica does not serve
// yet, and returns the version it loaded.
func (a *App) loadAccounts(ctx context.Context) (int64, error) {
	v, err := a.stored.Version(ctx)
	if err != nil {
		return 0, err
	}
	all, err := a.stored.All(ctx)
	if err != nil {
		return 0, err
	}
	for _, in := range all {
		if _, ok := a.accountConfig(in.ID); ok {
			continue
		}
		ac := &AccountConfig{ID: in.ID, Name: in.Name, AppID: in.AppID, AppSecret: in.AppSecret, Token: in.Token,
			AESKey: in.AESKey, EncodingMode: in.EncodingMode, Type: in.Type, APIBase: a.cfg.WeChat.APIBase}
		if err := a.serveAccount(ac); err != nil {
			return 0, fmt.Errorf("account %s: %w", in.ID, err)
		}
		a.logger.Info("account added by another replica", "account", in.ID)
	}
	return v, nil
}

// watchAccounts serves the accounts other replicas add, until ctx ends.
func (a *App) watchAccounts(ctx context.Context) {
	loaded := int64(-1)
	t := time.NewTicker(accountsCheck)
	defer t.Stop()
	for {
		v, err := a.stored.Version(ctx)
		if err == nil && v != loaded {
			v, err = a.loadAccounts(ctx)
			if err == nil {
				loaded = v
			}
		}
		if err != nil && ctx.Err() == nil {
			a.logger.Warn("added accounts not loaded", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// accountInfo describes an account for the API.
func (a *App) accountInfo(ac *AccountConfig, isDefault bool) admin.AccountInfo {
	typ := ac.Type
	if typ == "" {
		typ = "service"
	}
	hook := "/wechat/" + ac.ID
	if isDefault {
		hook = "/wechat"
	}
	return admin.AccountInfo{ID: ac.ID, Name: ac.Name, AppID: ac.AppID, Type: typ, Webhook: hook, Default: isDefault}
}
