package bot

// Everything a subscriber reads, in one place: short, friendly Simplified
// Chinese that an elderly farmer can follow. Lists and names come from the
// taxonomy.
const (
	txtWelcome = "您好，欢迎关注增城科普！🌱\n我们会给您送上实用的科普小知识：种养技术、天气防灾、健康安全……\n先回答3个小问题，好给您挑合适的内容。"

	txtWelcomeBack = "欢迎回来！🌱"

	txtAskGroup     = "① 您是哪类人？回复数字："
	txtAskTown      = "② 您在哪个镇街？回复数字或名称（也可以发送位置）："
	txtAskInterests = "③ 您关心什么？可选多个，用空格隔开，例如：1 3"
	txtSkipHint     = "（回复“跳过”可跳过）"

	txtNotUnderstood = "没看懂您的回复😅"
	txtOnboardDone   = "设置好了，谢谢您！👍"
	txtEditDone      = "已修改，谢谢！👍"
	txtSearchHint    = "发关键词就能查科普，例如“荔枝”“台风”“防诈骗”。回复“帮助”看更多用法。"
	txtUnknownWords  = "没认出："

	// Answers while Redis is unavailable (see Bot.Offline): nothing the
	// resident did was recorded, and the reply says so kindly.
	txtOffline        = "系统正在检修，您刚才的操作没能记下，请过几分钟再发一次🙏\n查科普（发关键词，如“荔枝”）和“帮助”现在照常能用。"
	txtOfflineWelcome = "欢迎关注！🌱 系统正在检修，请过几分钟回复“帮助”，我们再一起设置。\n现在发关键词（如“荔枝”“台风”）就能查科普。"

	txtHelp = "您可以这样用：\n" +
		"· 发关键词查科普，如“荔枝”“台风”\n" +
		"· “答题”：参加科普知识竞赛；“排行”：看您的名次\n" +
		"· “报名”：看能报名的活动；“报名 活动码”报名，“取消报名 活动码”取消\n" +
		"· “我的活动”：看您报名的活动\n" +
		"· “我的”：查看和修改您的资料\n" +
		"· “退订”：不再接收推送；“订阅”：重新接收\n" +
		"· “不看 荔枝”：不再推送某类内容\n" +
		"· “长辈模式”：推送更短，有语音，回数字就能用\n" +
		"· “删除我的数据”：删除您的全部资料"

	txtProfileHeader = "您的资料："
	txtProfileFooter = "要修改，请回复“改身份”“改镇街”或“改兴趣”。\n不想收推送回复“退订”；删除全部资料回复“删除我的数据”。\n我们只保存以上信息和您的使用记录，只用于给您推荐内容。"
	txtNotSet        = "未填写"
	txtPushOn        = "开启"
	txtPushOff       = "已停止（回复“订阅”可恢复）"

	txtOptedOut = "好的，已停止给您推送。想再收到科普内容，回复“订阅”即可。您随时可以发关键词查询。"
	txtOptedIn  = "好的，已为您恢复推送。🌱"

	txtConfirmErase = "确定要删除您的全部资料吗？删除后不能恢复。\n回复“确认删除”删除；回复其他内容取消。"
	txtErased       = "已删除您的全部资料和使用记录。想重新开始，随时回复“开始”。"
	txtEraseKept    = "好的，没有删除。"
	// txtErasedStartAgain answers someone whose data was erased until they start again.
	txtErasedStartAgain = "您的资料已经删除，我们没有再保存您的信息。\n想重新使用，请回复“开始”；也可以取消关注后重新关注。"

	txtNothingFound = "暂时没找到相关内容🙏\n试试别的关键词，例如“荔枝”“台风”“中暑”“防诈骗”；回复“帮助”看更多用法。"
	txtNonText      = "收到啦！目前我们只能看懂文字。发关键词就能查科普，例如“荔枝”“台风”。"
	txtVoiceUnheard = "不好意思，这段语音没听清。请靠近手机慢慢再说一遍；也可以打字，发“荔枝”“台风”这样的词就能查。"

	txtElderOn   = "已开启长辈模式。\n推送只说要点，有语音就发语音。\n想关掉，回复“关闭长辈模式”。"
	txtElderName = "长辈模式"
	txtElderOff  = "已关闭长辈模式。想再开，回复“长辈模式”。"
	// txtHelpElder is the help of elder mode: a few words, then the menu.
	txtHelpElder = "发一个词就能查，比如“荔枝”。\n也可以直接说话。"
	// Elder mode's short forms: a search's list, one item, choices.
	txtElderFound    = "找到 %d 条："
	txtElderPickHint = "回复数字看内容。"
	txtElderMore     = "看全文："
	txtElderChoose   = "要改，请回复数字："
	txtElderDone     = "设置好了。发一个词就能查，比如“荔枝”。"

	txtTopicOptOut    = "好的，以后不再给您推送：%s。想恢复，回复“改兴趣”重新选。"
	txtTopicOptOutHow = "请告诉我不想看哪类内容，例如：不看 荔枝"

	txtLocationSet  = "已按您的位置设为：%s。如不对，回复“改镇街”。"
	txtLocationTown = "按您的位置，镇街设为：%s（如不对，回复“改镇街”）。"
	txtNothingSet   = "您没有填写资料，我们会给您推送大家都关心的内容。回复“我的”可以随时补填。"
	txtSceneSet     = "已为您设置好：%s。回复“我的”可查看或修改。"
)

// Words that subscribers type to steer the bot.
var (
	wordsSkip      = []string{"跳过", "不填", "略过", "skip"}
	wordsHelp      = []string{"帮助", "help", "?", "？", "菜单", "功能"}
	wordsProfile   = []string{"我的", "设置", "我的资料", "我的数据", "个人资料", "资料"}
	wordsOptOut    = []string{"退订", "取消订阅", "不要推送", "停止推送", "TD"}
	wordsOptIn     = []string{"订阅", "恢复推送", "开启推送"}
	wordsErase     = []string{"删除我的数据", "删除数据", "删除我的资料", "注销"}
	wordsConfirm   = []string{"确认删除"}
	wordsRestart   = []string{"开始", "重新开始", "重新设置"}
	wordsEditGroup = []string{"改身份", "修改身份"}
	wordsEditTown  = []string{"改镇街", "修改镇街", "改镇", "改地址"}
	wordsEditTopic = []string{"改兴趣", "修改兴趣", "改关注"}
	wordsNoTopic   = []string{"不看", "不要看", "不想看"}
	wordsElderOn   = []string{"长辈模式", "开启长辈模式", "老人模式"}
	wordsElderOff  = []string{"关闭长辈模式", "退出长辈模式", "关闭老人模式"}
)
