package main

import (
	"fmt"
	"slices"
	"strings"
)

// The roles a replica can take (`kepubot serve --roles`, KEPUBOT_ROLES,
// `roles:` in the YAML). Several replicas share one Redis (or Cluster);
// any mix of roles may run anywhere, and every role may run in several
// replicas at once: delivery jobs are claimed once (scheduler/queue), a
// cron tick is run by one replica under a fenced lease (scheduler/jobs),
// and every webhook message is handled once (profile dedup).
const (
	// RoleWeb serves the webhook, the admin API, the console and the
	// link redirects, and keeps the chat search index.
	RoleWeb = "web"
	// RoleWorker runs delivery jobs: campaigns, notices, reminders.
	RoleWorker = "worker"
	// RoleScheduler runs the cron jobs (campaign schedules, reminders,
	// retention, feeds, tag sync).
	RoleScheduler = "scheduler"
)

// allRoles is the default: one process does everything.
var allRoles = []string{RoleWeb, RoleWorker, RoleScheduler}

// parseRoles reads a comma-separated role list.
func parseRoles(v string) ([]string, error) {
	var roles []string
	for _, r := range strings.Split(v, ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		if !slices.Contains(allRoles, r) {
			return nil, fmt.Errorf("unknown role %q (roles are %s)", r, strings.Join(allRoles, ", "))
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("no role given (roles are %s)", strings.Join(allRoles, ", "))
	}
	return roles, nil
}

// has reports whether this replica takes role.
func (c *Config) has(role string) bool { return slices.Contains(c.Roles, role) }
