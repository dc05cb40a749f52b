package main

import (
	"fmt"
	"net"
	"net/url"
)

// minAdminToken is the shortest bootstrap admin token accepted in
// production: 16 characters of a random token are beyond guessing over
// HTTP, and wrong tokens are throttled besides.
const minAdminToken = 16

// defaultWebhookToken is the development webhook token of defaultConfig.
// It is public (in the README), so it signs nothing in production.
const defaultWebhookToken = "kepubot"

// production reports whether a is a real Official Account: it has an
// AppSecret and its API calls leave this machine (a fake WeChat in tests
// and the demo listens on loopback).
func (a *AccountConfig) production() bool {
	if a.AppSecret == "" {
		return false
	}
	u, err := url.Parse(a.APIBase)
	if err != nil {
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// validateSecrets refuses, in production, secrets anyone could know: the
// public default webhook token, a short admin token.
func (c *Config) validateSecrets() error {
	prod := false
	for i, a := range c.allAccounts() {
		if !a.production() {
			continue
		}
		prod = true
		if a.Token == defaultWebhookToken {
			key, env := "wechat.token", " (KEPUBOT_WECHAT_TOKEN)"
			if i > 0 {
				key, env = fmt.Sprintf("accounts[%d].token", i-1), ""
			}
			return fmt.Errorf("config: %s%s is the public default %q; with a real app_secret choose your own token", key, env, defaultWebhookToken)
		}
	}
	if prod && c.Admin.Token != "" && len(c.Admin.Token) < minAdminToken {
		return fmt.Errorf("config: admin.token (KEPUBOT_ADMIN_TOKEN) must be at least %d characters in production", minAdminToken)
	}
	return nil
}
