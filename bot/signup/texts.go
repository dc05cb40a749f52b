package signup

import (
	"fmt"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
)

// Everything a subscriber reads about events, in the bot's style: short,
// friendly Simplified Chinese.
const (
	txtSignupNone  = "现在没有可以报名的活动。看到活动通知后，回复“报名 活动码”即可报名。"
	txtSignupOpen  = "现在可以报名的活动："
	txtSignupHow   = "报名请回复“报名”加活动码，例如：报名 %s"
	txtCancelUsage = "取消报名请回复“取消报名”加活动码，例如：取消报名 KX2027"
	txtNoEvent     = "没有找到活动码“%s”的活动🙏 请核对活动码。"
	txtClosed      = "「%s」现在不能报名（还没开始报名、已截止或已结束）。"
	txtConfirmed   = "报名成功！✅\n「%s」\n时间：%s\n地点：%s\n活动前我们会提醒您。不能来的话，请回复“取消报名 %s”，把名额留给别人。"
	txtWaitlisted  = "「%s」名额已满，您已进入候补第%d位。有人取消时我们会按顺序递补并通知您。\n不想等了，回复“取消报名 %s”。"
	txtCancelled   = "已为您取消「%s」的报名。欢迎下次参加！"
	txtLeftWait    = "已为您取消「%s」的候补。"
	txtNotSigned   = "您没有报名「%s」。"
	txtPromoted    = "好消息！「%s」有人取消，您已从候补转为正式报名✅\n时间：%s\n地点：%s\n不能来的话，请回复“取消报名 %s”。"
	txtReminder    = "活动提醒⏰\n「%s」将于%s开始\n地点：%s\n请准时参加，到场后扫描现场二维码签到。"
	txtMyNone      = "您还没有报名活动。看到活动通知后，回复“报名 活动码”即可报名。"
	txtMyHeader    = "您的活动："
	txtCheckedIn   = "欢迎来到「%s」！签到成功✅\n活动结束后，请花几秒钟告诉我们您的感受。"
	txtFeedbackAsk = "感谢您参加「%s」！\n这次活动对您有帮助吗？\n回复“评价1”有帮助，“评价2”一般，“评价3”没帮助。"
	txtFeedbackThx = "收到您的评价，谢谢！🌱"
	txtFeedbackBad = "请回复“评价1”“评价2”或“评价3”。"
	txtFeedbackNo  = "暂时没有需要您评价的活动，谢谢！"
)

// Words subscribers type.
var (
	wordsSignup   = "报名"
	wordsCancel   = "取消报名"
	wordsMine     = []string{"我的活动", "我的报名", "活动"}
	wordsFeedback = "评价"
)

// when formats an instant in the district's time: 9月16日（周六）14:30.
func (s *Service) when(t time.Time) string {
	t = t.In(s.cfg.Loc)
	week := [...]string{"日", "一", "二", "三", "四", "五", "六"}
	year := ""
	if t.Year() != s.cfg.Now().In(s.cfg.Loc).Year() {
		year = fmt.Sprintf("%d年", t.Year())
	}
	return fmt.Sprintf("%s%d月%d日（周%s）%02d:%02d", year, t.Month(), t.Day(), week[t.Weekday()], t.Hour(), t.Minute())
}

func venue(ev content.Event) string {
	if ev.Venue == "" {
		return "见活动通知"
	}
	return ev.Venue
}

func (s *Service) promotedText(ev content.Event) string {
	return fmt.Sprintf(txtPromoted, ev.Title, s.when(ev.StartsAt), venue(ev), ev.Code)
}

func (s *Service) reminderText(ev content.Event) string {
	return fmt.Sprintf(txtReminder, ev.Title, s.when(ev.StartsAt), venue(ev))
}
