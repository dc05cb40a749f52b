package quiz

// Everything a participant reads, in one place: short, friendly Simplified
// Chinese for elderly readers, like bot/texts.go.
const (
	txtNoCompetition = "目前没有正在进行的知识竞赛，请留意我们的通知。🌱"
	txtNoSuchCode    = "没有找到这个竞赛码，请核对后再发“答题 竞赛码”。"
	txtNotStarted    = "《%s》还没开始，开始时间：%s。"
	txtEnded         = "《%s》已经结束了，谢谢关注！回复“排行”看成绩。"
	txtNotForYou     = "《%s》面向特定人群，您暂时不能参加。回复“我的”可查看和修改您的资料。"
	txtNoAttempts    = "《%s》每人可答%d次，您的次数已用完。回复“排行”看成绩。"
	txtBusy          = "您正在参加《%s》，请先答完，或回复“退出答题”结束后再参加别的竞赛。"
	txtIntro         = "欢迎参加《%s》！共%d题，每题限时%d秒，答对%d题算及格。这是您的第%d次答题。\n回复选项字母或数字作答，例如 A 或 1。中途回复“退出答题”可结束。"
	txtResume        = "继续答题："
	txtQuestion      = "第%d/%d题%s：%s"
	txtMultiple      = "（多选）"
	txtAnswerHint    = "请回复选项字母或数字作答，例如 A 或 1%s。回复“退出答题”可结束。"
	txtMultiHint     = "；多选题请连着写，例如 AB"
	txtRight         = "✅ 答对了！"
	txtWrong         = "❌ 答错了，正确答案是 %s。"
	txtLate          = "⏰ 超时了，这题不计分。正确答案是 %s。"
	txtExplain       = "解析：%s"
	txtStale         = "第%d题已经在作答中，请看清题目再回复。"
	txtTooFast       = "您发得太快了，请休息一下再作答。"
	txtFinished      = "答题结束！答对 %d/%d 题，用时 %s。"
	txtPassed        = "达到及格线（%d题），恭喜您！👍"
	txtNotPassed     = "及格线是%d题，继续加油！💪"
	txtRanks         = "目前全区第%d名，%s第%d名。"
	txtAttemptsLeft  = "您还可以再答%d次，回复“答题”开始。"
	txtRankHint      = "回复“排行”看排行榜。"
	txtAlreadyDone   = "本次答题已经结束。回复“排行”看排行榜。"
	txtQuit          = "已退出答题。本次答对%d题，不计入排行。"
	txtNotInQuiz     = "您现在没有在答题。回复“答题”参加知识竞赛。"
	txtRankTitle     = "《%s》排行榜"
	txtRankMine      = "您：答对%d题，用时%s，全区第%d名，%s第%d名。"
	txtRankNone      = "您还没有完成答题，回复“答题”参加。"
	txtRankTop       = "%s前%d名："
	txtRankNoTown    = "回复“改镇街”设置您的镇街，就能看到本镇街排行。"
	txtRankEmpty     = "还没有人完成答题，快来当第一名！"
	txtUnknownTown   = "本镇街"
)

// Words that participants type.
var (
	wordsStart = []string{"答题", "开始答题", "知识竞赛", "竞赛"}
	wordsQuit  = []string{"退出答题", "结束答题", "不答了"}
	wordsRank  = []string{"排行", "排行榜", "排名", "我的成绩"}
)
