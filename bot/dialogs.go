package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/qrcode"
)

// Dialog names kept in Request.Dialog.
const (
	dialogEdit  = "edit"  // changing one onboarding answer ("改镇街")
	dialogErase = "erase" // waiting for "确认删除"
)

// routes registers the bot's chat commands and events on m.
func (b *Bot) routes(m *Mux) {
	m.Event("subscribe", HandlerFunc(b.subscribe))
	m.Event("unsubscribe", HandlerFunc(b.unsubscribe))
	m.Event("SCAN", HandlerFunc(b.scan))
	m.Event("LOCATION", HandlerFunc(b.location))
	m.Event("CLICK", HandlerFunc(b.click))

	m.Command(ReadOnly(HandlerFunc(b.help)), wordsHelp...)
	// Not ReadOnly: the profile it shows must be the one in Redis (an
	// erasure on another replica must show as erased, not as the data).
	m.Command(HandlerFunc(b.showProfile), wordsProfile...)
	m.Command(HandlerFunc(b.optOut), wordsOptOut...)
	m.Command(HandlerFunc(b.optIn), wordsOptIn...)
	m.Command(HandlerFunc(b.elderOn), wordsElderOn...)
	m.Command(HandlerFunc(b.elderOff), wordsElderOff...)
	m.Command(HandlerFunc(b.askErase), wordsErase...)
	m.Command(HandlerFunc(b.restart), wordsRestart...)
	m.Command(b.edit(profile.StepGroup), wordsEditGroup...)
	m.Command(b.edit(profile.StepTown), wordsEditTown...)
	m.Command(b.edit(profile.StepInterests), wordsEditTopic...)
	for _, w := range wordsNoTopic {
		m.Prefix(w, HandlerFunc(b.noTopic))
	}

	m.Prefix(elderShowPrefix, ReadOnly(HandlerFunc(b.elderShow)))
	m.Dialog(dialogElderPick, HandlerFunc(b.elderPick))
	m.Dialog(dialogErase, HandlerFunc(b.confirmErase))
	m.Dialog(dialogEdit, HandlerFunc(b.answer))
	m.Fallback(HandlerFunc(b.fallback))
}

func (b *Bot) subscribe(ctx context.Context, req *Request) (Reply, error) {
	p := req.Profile
	b.setSubscribed(req, true)
	known := p.Group != "" || p.Town != "" || len(p.Interests) > 0
	var lines []string
	if known && !req.New {
		lines = append(lines, txtWelcomeBack)
	} else {
		lines = append(lines, txtWelcome)
	}
	if scene, ok := strings.CutPrefix(req.Msg.EventKey, "qrscene_"); ok && scene != "" {
		set, checkIn, err := b.applyScene(ctx, req, scene)
		switch {
		case err != nil:
			return Reply{}, err
		case checkIn.Text != "":
			lines = append(lines, checkIn.Text)
		case set != "":
			lines = append(lines, fmt.Sprintf(txtSceneSet, set))
		}
	}
	if known && !req.New {
		return Text(strings.Join(lines, "\n")), nil
	}
	return b.ask(req, profile.StepGroup, lines...), nil
}

func (b *Bot) unsubscribe(_ context.Context, req *Request) (Reply, error) {
	if req.New {
		req.Profile = nil // never store someone who only left
		return Reply{}, nil
	}
	b.setSubscribed(req, false)
	return Reply{}, nil
}

// setSubscribed applies a follow or unfollow unless a newer one was
// already applied (WeChat may deliver a retry late).
func (b *Bot) setSubscribed(req *Request, on bool) {
	p, t := req.Profile, req.Msg.CreateTime
	if t.Before(p.OptChangedAt) {
		return
	}
	p.Subscribed, p.OptChangedAt = on, t
}

func (b *Bot) scan(ctx context.Context, req *Request) (Reply, error) {
	set, checkIn, err := b.applyScene(ctx, req, req.Msg.EventKey)
	switch {
	case err != nil:
		return Reply{}, err
	case !checkIn.Empty():
		return checkIn, nil
	case set == "":
		return Reply{}, nil
	}
	return Text(fmt.Sprintf(txtSceneSet, set)), nil
}

// applyScene profiles the subscriber from a QR scene and records its
// source. It returns a description of what it set ("" when nothing), or
// the reply of an event check-in when the scene is one.
func (b *Bot) applyScene(ctx context.Context, req *Request, scene string) (string, Reply, error) {
	if b.scenes == nil {
		return "", Reply{}, nil
	}
	s, err := b.scenes.Get(ctx, req.Msg.Account, scene)
	if errors.Is(err, qrcode.ErrNotFound) {
		return "", Reply{}, nil
	}
	if err != nil {
		return "", Reply{}, err
	}
	if s.Event != "" && b.checkIn != nil {
		if r, ok, err := b.checkIn(ctx, req, s); err != nil || ok {
			return "", r, err
		}
	}
	p := req.Profile
	if s.Group != "" {
		p.Group = s.Group
	}
	if s.Town != "" {
		p.Town = s.Town
	}
	for _, t := range s.Interests {
		if !p.HasInterest(t) {
			p.SetInterest(t, profile.WeightChosen)
		}
	}
	if s.Source != "" {
		p.Source = s.Source
	}
	if s.Elder {
		p.Elder = true
	}
	if s.Group == "" && s.Town == "" && len(s.Interests) == 0 {
		if s.Elder {
			return txtElderName, Reply{}, nil
		}
		return "", Reply{}, nil
	}
	if p.Step != profile.StepNone {
		p.Step = b.nextUnanswered(p, profile.StepGroup)
	}
	return b.describe(p), Reply{}, nil
}

func (b *Bot) location(_ context.Context, req *Request) (Reply, error) {
	p := req.Profile
	town, ok := b.townAt(req.Msg.Lat, req.Msg.Lon)
	if !ok {
		return Reply{}, nil
	}
	if p.Step == profile.StepTown {
		p.Town = town
		reply := b.advance(req, profile.StepTown)
		reply.Text = fmt.Sprintf(txtLocationTown, b.townName(town)) + "\n" + reply.Text
		return reply, nil
	}
	if p.Town != "" {
		return Reply{}, nil // the subscriber's own answer wins
	}
	p.Town = town
	return Text(fmt.Sprintf(txtLocationSet, b.townName(town))), nil
}

// click handles a menu button: its key is the command it stands for.
func (b *Bot) click(ctx context.Context, req *Request) (Reply, error) {
	if req.Msg.EventKey == "" {
		return Reply{}, nil
	}
	m := *req.Msg
	m.Type, m.Event, m.Text = "text", "", req.Msg.EventKey
	return b.handleAs(ctx, req, &m)
}

// handleAs routes req as if it carried m (a menu click's key, an elder
// mode digit's command), keeping what the handler decided.
func (b *Bot) handleAs(ctx context.Context, req *Request, m *Message) (Reply, error) {
	r := *req
	r.Msg = m
	reply, err := b.mux.Handle(ctx, &r)
	req.Profile, req.Dialog, req.readOnly = r.Profile, r.Dialog, r.readOnly
	return reply, err
}

func (b *Bot) help(_ context.Context, req *Request) (Reply, error) {
	if req.Profile != nil && req.Profile.Elder {
		return Text(txtHelpElder + "\n" + elderMenuText()), nil
	}
	return Text(txtHelp), nil
}

func (b *Bot) showProfile(_ context.Context, req *Request) (Reply, error) {
	p := req.Profile
	push := txtPushOn
	if p.OptedOut {
		push = txtPushOff
	}
	lines := []string{
		txtProfileHeader,
		"身份：" + or(b.groupName(p.Group), txtNotSet),
		"镇街：" + or(b.townName(p.Town), txtNotSet),
		"关注：" + or(b.topicNames(p.InterestIDs()), txtNotSet),
		"推送：" + push,
	}
	if no := p.OptOutTopics(); len(no) > 0 {
		lines = append(lines, "不看："+b.topicNames(no))
	}
	if p.Elder {
		return elderChoices(req, lines, [2]string{"改身份", wordsEditGroup[0]}, [2]string{"改镇街", wordsEditTown[0]},
			[2]string{"改兴趣", wordsEditTopic[0]}), nil
	}
	lines = append(lines,
		"",
		txtProfileFooter,
	)
	return Text(strings.Join(lines, "\n")), nil
}

func (b *Bot) optOut(_ context.Context, req *Request) (Reply, error) {
	p, t := req.Profile, req.Msg.CreateTime
	if !t.Before(p.OptChangedAt) {
		p.OptedOut, p.OptChangedAt = true, t
	}
	if !p.OptedOut {
		return Text(txtOptedIn), nil // a late retry of an old 退订
	}
	return Text(txtOptedOut), nil
}

func (b *Bot) optIn(_ context.Context, req *Request) (Reply, error) {
	p, t := req.Profile, req.Msg.CreateTime
	if !t.Before(p.OptChangedAt) {
		p.OptedOut, p.OptChangedAt = false, t
	}
	if p.OptedOut {
		return Text(txtOptedOut), nil
	}
	return Text(txtOptedIn), nil
}

// noTopic handles "不看 荔枝": a per-topic opt-out.
func (b *Bot) noTopic(_ context.Context, req *Request) (Reply, error) {
	text := normalize(req.Msg.Text)
	for _, w := range wordsNoTopic {
		text = strings.TrimPrefix(text, normalize(w))
	}
	var all []string
	for _, t := range b.tax.Topics {
		all = append(all, t.ID)
	}
	ids, _ := b.tax.MatchTopics(strings.TrimSpace(text), all)
	if len(ids) == 0 {
		return Text(txtTopicOptOutHow), nil
	}
	for _, id := range ids {
		req.Profile.OptOutTopic(id)
	}
	return Text(fmt.Sprintf(txtTopicOptOut, b.topicNames(ids))), nil
}

func (b *Bot) askErase(_ context.Context, req *Request) (Reply, error) {
	req.Dialog = Dialog{Name: dialogErase}
	return Text(txtConfirmErase), nil
}

func (b *Bot) confirmErase(ctx context.Context, req *Request) (Reply, error) {
	req.Dialog = Dialog{}
	if normalize(req.Msg.Text) != normalize(wordsConfirm[0]) {
		return Text(txtEraseKept), nil
	}
	for _, e := range b.erasers {
		if err := e.Erase(ctx, req.Msg.Account, req.Msg.OpenID); err != nil {
			return Reply{}, fmt.Errorf("erase subscriber data: %w", err)
		}
	}
	req.Profile = nil
	return Text(txtErased), nil
}

func (b *Bot) restart(_ context.Context, req *Request) (Reply, error) {
	req.Dialog = Dialog{}
	return b.ask(req, profile.StepGroup), nil
}

func (b *Bot) edit(step profile.Step) Handler {
	return HandlerFunc(func(_ context.Context, req *Request) (Reply, error) {
		req.Dialog = Dialog{Name: dialogEdit}
		return b.ask(req, step), nil
	})
}

// fallback answers onboarding questions while one is open, and otherwise
// treats the text as a search.
func (b *Bot) fallback(ctx context.Context, req *Request) (Reply, error) {
	if req.Profile.Step != profile.StepNone && req.Msg.Type == "text" {
		return b.answer(ctx, req)
	}
	if req.Msg.Type == "location" {
		return b.location(ctx, req)
	}
	if req.Msg.Type == "voice" {
		// A voice message WeChat recognised arrives as text (webhook.go);
		// this one it could not.
		return Text(txtVoiceUnheard), nil
	}
	// What is left only answers: search (ContentSearch), or a hint.
	req.readOnly = true
	if strings.TrimSpace(req.Msg.Text) == "" {
		return Text(txtNonText), nil
	}
	if b.search != nil {
		reply, err := b.search.Search(ctx, req)
		if err != nil || !reply.Empty() {
			return reply, err
		}
	}
	return Text(txtNothingFound), nil
}

// answer takes the answer to the open onboarding question.
func (b *Bot) answer(_ context.Context, req *Request) (Reply, error) {
	p := req.Profile
	step := p.Step
	if step == profile.StepNone {
		req.Dialog = Dialog{}
		return Text(txtNothingFound), nil
	}
	text := req.Msg.Text
	if isWord(text, wordsSkip) {
		return b.advance(req, step), nil
	}
	var unknown []string
	switch step {
	case profile.StepGroup:
		g, ok := b.tax.MatchGroup(text)
		if !ok {
			return b.reask(req, step), nil
		}
		p.Group = g.ID
	case profile.StepTown:
		t, ok := b.tax.MatchTown(text)
		if !ok {
			return b.reask(req, step), nil
		}
		p.Town = t.ID
	case profile.StepInterests:
		var ids []string
		ids, unknown = b.tax.MatchTopics(text, b.tax.SuggestedTopics(p.Group))
		if len(ids) == 0 {
			return b.reask(req, step), nil
		}
		p.InterestsAt = req.Now
		for _, id := range ids {
			p.SetInterest(id, profile.WeightChosen)
		}
	}
	reply := b.advance(req, step)
	if len(unknown) > 0 {
		reply.Text = txtUnknownWords + strings.Join(unknown, " ") + "\n" + reply.Text
	}
	return reply, nil
}

// advance moves past step: to the next unanswered question during
// onboarding, or to the end after a single edit.
func (b *Bot) advance(req *Request, step profile.Step) Reply {
	p := req.Profile
	if req.Dialog.Name == dialogEdit {
		req.Dialog, p.Step = Dialog{}, profile.StepNone
		return Text(txtEditDone + "\n" + b.describe(p))
	}
	next := b.nextUnanswered(p, step+1)
	if next == profile.StepNone {
		p.Step = profile.StepNone
		return Text(b.onboarded(p))
	}
	return b.ask(req, next)
}

// onboarded is the end of onboarding: what was set (or that nothing
// was), and how to search.
func (b *Bot) onboarded(p *profile.Profile) string {
	set := b.describe(p)
	if p.Elder {
		return strings.TrimSpace(txtElderDone + "\n" + set + "\n" + elderMenuText())
	}
	if set == "" {
		set = txtNothingSet
	}
	return txtOnboardDone + "\n" + set + "\n\n" + txtSearchHint
}

// nextUnanswered is the first onboarding step from s on that the profile
// has no answer for, or StepNone.
func (b *Bot) nextUnanswered(p *profile.Profile, s profile.Step) profile.Step {
	for ; s <= profile.StepInterests; s++ {
		switch {
		case s == profile.StepGroup && p.Group == "",
			s == profile.StepTown && p.Town == "",
			s == profile.StepInterests && len(p.Interests) == 0:
			return s
		}
	}
	return profile.StepNone
}

// ask puts question step to the subscriber, after any intro lines.
func (b *Bot) ask(req *Request, step profile.Step, intro ...string) Reply {
	p := req.Profile
	if req.Dialog.Name != dialogEdit {
		step = b.nextUnanswered(p, step)
	}
	p.Step = step
	lines := append([]string(nil), intro...)
	switch step {
	case profile.StepNone:
		lines = append(lines, b.onboarded(p))
		return Text(strings.Join(lines, "\n"))
	case profile.StepGroup:
		lines = append(lines, txtAskGroup)
		for i, g := range b.tax.Groups {
			lines = append(lines, strconv.Itoa(i+1)+" "+g.Name)
		}
	case profile.StepTown:
		lines = append(lines, txtAskTown)
		for i, t := range b.tax.Towns {
			lines = append(lines, strconv.Itoa(i+1)+" "+t.Name)
		}
	case profile.StepInterests:
		lines = append(lines, txtAskInterests)
		for i, id := range b.tax.SuggestedTopics(p.Group) {
			lines = append(lines, strconv.Itoa(i+1)+" "+b.topicName(id))
		}
	}
	lines = append(lines, txtSkipHint)
	return Text(strings.Join(lines, "\n"))
}

func (b *Bot) reask(req *Request, step profile.Step) Reply {
	return b.ask(req, step, txtNotUnderstood)
}

// describe summarises a profile in one line: 农民 · 派潭镇 · 荔枝、气象.
func (b *Bot) describe(p *profile.Profile) string {
	var parts []string
	if p.Group != "" {
		parts = append(parts, b.groupName(p.Group))
	}
	if p.Town != "" {
		parts = append(parts, b.townName(p.Town))
	}
	if len(p.Interests) > 0 {
		parts = append(parts, b.topicNames(p.InterestIDs()))
	}
	if p.Elder {
		parts = append(parts, txtElderName)
	}
	return strings.Join(parts, " · ")
}

func isWord(text string, words []string) bool {
	t := normalize(text)
	for _, w := range words {
		if t == normalize(w) {
			return true
		}
	}
	return false
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
