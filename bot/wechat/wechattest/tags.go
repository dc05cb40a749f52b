package wechattest

import (
	"slices"
	"strconv"
)

const (
	maxTags        = 100
	maxTagNameLen  = 30 // bytes
	maxTagsPerUser = 20
	maxTagBatch    = 50
	userPageSize   = 10000
)

type tag struct {
	id   int
	name string
}

// reservedTag reports whether id is one of WeChat's system tags (0, 1, 2).
func reservedTag(id int) bool { return id >= 0 && id <= 2 }

// UserTags returns the tag ids of openid, for tests.
func (s *Server) UserTags(appID, openID string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustApp(appID).user(openID)
	if u == nil {
		return nil
	}
	return slices.Clone(u.tags)
}

type tagBody struct {
	Tag struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"tag"`
}

func (a *app) checkTagName(name string, except int) (result, bool) {
	if isBlank(name) || len(name) > maxTagNameLen {
		// unsure: WeChat documents 45158 for a too-long name; an empty one
		// is answered the same way here.
		return fail(45158, "tag name too long"), false
	}
	for _, t := range a.tags {
		if t.name == name && t.id != except {
			return fail(45157, "invalid tag name"), false
		}
	}
	return result{}, true
}

func (s *Server) handleTagCreate(q *request) result {
	var b tagBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	a := q.app
	if res, ok := a.checkTagName(b.Tag.Name, -1); !ok {
		return res
	}
	if len(a.tags) >= maxTags {
		return fail(45056, "too many tags")
	}
	t := &tag{id: a.nextTagID, name: b.Tag.Name}
	a.nextTagID++
	a.tags[t.id] = t
	return result{body: map[string]any{"tag": map[string]any{"id": t.id, "name": t.name}}}
}

func (s *Server) handleTagGet(q *request) result {
	a := q.app
	ids := make([]int, 0, len(a.tags))
	for id := range a.tags {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	tags := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		n := 0
		for _, u := range a.users {
			if u.following && u.hasTag(id) {
				n++
			}
		}
		tags = append(tags, map[string]any{"id": id, "name": a.tags[id].name, "count": n})
	}
	return result{body: map[string]any{"tags": tags}}
}

func (s *Server) handleTagUpdate(q *request) result {
	var b tagBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	a := q.app
	if reservedTag(b.Tag.ID) {
		return fail(45058, "can't modify sys tag")
	}
	t, ok := a.tags[b.Tag.ID]
	if !ok {
		return fail(45159, "invalid tag id")
	}
	if res, ok := a.checkTagName(b.Tag.Name, t.id); !ok {
		return res
	}
	t.name = b.Tag.Name
	return okResult(nil)
}

func (s *Server) handleTagDelete(q *request) result {
	var b tagBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	a := q.app
	if reservedTag(b.Tag.ID) {
		return fail(45058, "can't modify sys tag")
	}
	if _, ok := a.tags[b.Tag.ID]; !ok {
		return fail(45159, "invalid tag id")
	}
	delete(a.tags, b.Tag.ID)
	for _, u := range a.users {
		u.tags = slices.DeleteFunc(u.tags, func(id int) bool { return id == b.Tag.ID })
	}
	return okResult(nil)
}

type batchTagBody struct {
	OpenIDList []string `json:"openid_list"`
	TagID      int      `json:"tagid"`
}

// checkBatch validates a batch (un)tagging request. Callers hold s.mu.
func (a *app) checkBatch(b *batchTagBody) (result, bool) {
	if len(b.OpenIDList) == 0 {
		return fail(40032, "invalid openid list"), false
	}
	if len(b.OpenIDList) > maxTagBatch {
		return fail(40032, "invalid openid list size, max 50"), false
	}
	if _, ok := a.tags[b.TagID]; !ok {
		return fail(45159, "invalid tag id"), false
	}
	for _, id := range b.OpenIDList {
		if a.user(id) == nil {
			return fail(40003, "invalid openid"), false
		}
	}
	return result{}, true
}

func (s *Server) handleBatchTag(q *request) result {
	var b batchTagBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	a := q.app
	if res, ok := a.checkBatch(&b); !ok {
		return res
	}
	// Check every user first so that a failed call changes nothing.
	for _, id := range b.OpenIDList {
		u := a.user(id)
		if !u.hasTag(b.TagID) && len(u.tags) >= maxTagsPerUser {
			return fail(45059, "user tag count exceeds limit")
		}
	}
	for _, id := range b.OpenIDList {
		if u := a.user(id); !u.hasTag(b.TagID) {
			u.tags = append(u.tags, b.TagID)
		}
	}
	return okResult(nil)
}

func (s *Server) handleBatchUntag(q *request) result {
	var b batchTagBody
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	a := q.app
	if res, ok := a.checkBatch(&b); !ok {
		return res
	}
	for _, id := range b.OpenIDList {
		u := a.user(id)
		u.tags = slices.DeleteFunc(u.tags, func(t int) bool { return t == b.TagID })
	}
	return okResult(nil)
}

func (s *Server) handleTagIDList(q *request) result {
	var b struct {
		OpenID string `json:"openid"`
	}
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	u := q.app.user(b.OpenID)
	if u == nil {
		return fail(40003, "invalid openid")
	}
	ids := slices.Clone(u.tags)
	if ids == nil {
		ids = []int{}
	}
	return result{body: map[string]any{"tagid_list": ids}}
}

// handleUserGet lists followers 10,000 at a time. As on WeChat, next_openid
// is the last openid of the page, and a page after the end is empty with
// an empty next_openid.
func (s *Server) handleUserGet(q *request) result {
	a := q.app
	start := 0
	if next := q.r.URL.Query().Get("next_openid"); next != "" {
		i := slices.Index(a.order, next)
		if i < 0 {
			return fail(40003, "invalid next_openid "+strconv.Quote(next))
		}
		start = i + 1
	}
	end := min(start+userPageSize, len(a.order))
	page := slices.Clone(a.order[start:end])
	body := map[string]any{"total": len(a.order), "count": len(page), "next_openid": ""}
	if len(page) > 0 {
		body["data"] = map[string]any{"openid": page}
		body["next_openid"] = page[len(page)-1]
	}
	return result{body: body}
}
