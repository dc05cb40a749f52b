package wechattest_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

func createTag(t *testing.T, b *bundle, name string) obj {
	t.Helper()
	return b.post(t, "/cgi-bin/tags/create", obj{"tag": obj{"name": name}})
}

func tagID(m obj) int { return int(m["tag"].(obj)["id"].(float64)) }

func TestTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, b *bundle)
	}{
		{"names: ≤30 bytes, unique", func(t *testing.T, b *bundle) {
			wantCode(t, "31 bytes", createTag(t, b, strings.Repeat("a", 31)), 45158)
			wantCode(t, "first", createTag(t, b, "科普"), 0)
			wantCode(t, "duplicate", createTag(t, b, "科普"), 45157)
		}},
		{"at most 100 tags", func(t *testing.T, b *bundle) {
			for i := range 100 {
				wantCode(t, "create", createTag(t, b, fmt.Sprint("t", i)), 0)
			}
			wantCode(t, "101st", createTag(t, b, "extra"), 45056)
		}},
		{"reserved ids 0-2 cannot be deleted", func(t *testing.T, b *bundle) {
			wantCode(t, "delete 2", b.post(t, "/cgi-bin/tags/delete", obj{"tag": obj{"id": 2}}), 45058)
		}},
		{"batch tagging: ≤50 openids, ≤20 tags per user", func(t *testing.T, b *bundle) {
			id := tagID(createTag(t, b, "a"))
			wantCode(t, "51", b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": openIDs(51), "tagid": id}), 40032)
			wantCode(t, "50", b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": openIDs(50), "tagid": id}), 0)
			for i := range 19 {
				id := tagID(createTag(t, b, fmt.Sprint("more", i)))
				wantCode(t, "tag", b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": openIDs(1), "tagid": id}), 0)
			}
			id21 := tagID(createTag(t, b, "21st"))
			wantCode(t, "21st tag", b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": openIDs(1), "tagid": id21}), 45059)
			if n := len(b.srv.UserTags(appID, openIDs(1)[0])); n != 20 {
				t.Errorf("user has %d tags, want 20", n)
			}
			ids := b.post(t, "/cgi-bin/tags/getidlist", obj{"openid": openIDs(1)[0]})["tagid_list"].([]any)
			if len(ids) != 20 {
				t.Errorf("getidlist returned %d tags, want 20", len(ids))
			}
			wantCode(t, "untag", b.post(t, "/cgi-bin/tags/members/batchuntagging", obj{"openid_list": openIDs(1), "tagid": id}), 0)
			if n := len(b.srv.UserTags(appID, openIDs(1)[0])); n != 19 {
				t.Errorf("after untag user has %d tags, want 19", n)
			}
		}},
		{"tags/get counts members; delete removes the tag", func(t *testing.T, b *bundle) {
			id := tagID(createTag(t, b, "a"))
			b.post(t, "/cgi-bin/tags/members/batchtagging", obj{"openid_list": openIDs(3), "tagid": id})
			tags := b.get(t, "/cgi-bin/tags/get", nil)["tags"].([]any)
			if len(tags) != 1 || tags[0].(obj)["count"].(float64) != 3 {
				t.Errorf("tags = %v, want one with count 3", tags)
			}
			wantCode(t, "delete", b.post(t, "/cgi-bin/tags/delete", obj{"tag": obj{"id": id}}), 0)
			if n := len(b.srv.UserTags(appID, openIDs(1)[0])); n != 0 {
				t.Errorf("user keeps %d tags after delete", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, wechattest.ServiceAccount)
			for _, id := range openIDs(60) {
				b.srv.Follow(appID, id)
			}
			tt.run(t, b)
		})
	}
}

func TestUserGetPages(t *testing.T) {
	t.Parallel()
	b := setup(t, wechattest.ServiceAccount)
	ids := openIDs(10001)
	for _, id := range ids {
		b.srv.Follow(appID, id)
	}
	b.srv.Unfollow(appID, ids[5])
	p1 := b.get(t, "/cgi-bin/user/get", nil)
	if p1["total"].(float64) != 10000 || p1["count"].(float64) != 10000 {
		t.Fatalf("page 1: total %v count %v, want 10000 10000", p1["total"], p1["count"])
	}
	p2 := b.get(t, "/cgi-bin/user/get", url.Values{"next_openid": {p1["next_openid"].(string)}})
	if p2["count"].(float64) != 0 || p2["next_openid"] != "" {
		t.Errorf("page 2: count %v next %q, want 0 and empty", p2["count"], p2["next_openid"])
	}
}
