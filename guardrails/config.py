"""Configuration of the rails and hold triggers. Values with safe defaults; deployments override per field."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

RULESETS_DIR = Path(__file__).resolve().parent / "rulesets"


class Category(StrEnum):
    """Why an input rule fired. The red-team datasets use the same names."""

    INJECTION = "injection"
    OTHER_CITIZEN_DATA = "other_citizen_data"
    LEGAL_MEDICAL_VERDICT = "legal_medical_verdict"
    POLITICAL = "political"
    FABRICATED_POLICY = "fabricated_policy"
    FRAUD = "fraud"  # forged or false documents: never helped, never starts a matter
    OUT_OF_SCOPE = "out_of_scope"
    EMERGENCY = "emergency"
    TOO_LONG = "too_long"
    PII = "pii"


class Flag(StrEnum):
    TOO_LONG = "too_long"
    INJECTION = "injection"
    EMERGENCY = "emergency"
    OUT_OF_SCOPE = "out_of_scope"
    PII = "pii"
    SENSITIVE = "sensitive"


CATEGORY_FLAG: dict[Category, Flag] = {
    Category.INJECTION: Flag.INJECTION,
    Category.OTHER_CITIZEN_DATA: Flag.SENSITIVE,
    Category.LEGAL_MEDICAL_VERDICT: Flag.OUT_OF_SCOPE,
    Category.POLITICAL: Flag.SENSITIVE,
    Category.FABRICATED_POLICY: Flag.SENSITIVE,
    Category.FRAUD: Flag.SENSITIVE,
    Category.OUT_OF_SCOPE: Flag.OUT_OF_SCOPE,
    Category.EMERGENCY: Flag.EMERGENCY,
    Category.TOO_LONG: Flag.TOO_LONG,
    Category.PII: Flag.PII,
}

# The order in which a blocked input picks its reply: the first category that fired wins.
MESSAGE_PRIORITY: tuple[Category, ...] = (
    Category.EMERGENCY,
    Category.TOO_LONG,
    Category.INJECTION,
    Category.OTHER_CITIZEN_DATA,
    Category.POLITICAL,
    Category.FRAUD,
    Category.LEGAL_MEDICAL_VERDICT,
    Category.FABRICATED_POLICY,
    Category.OUT_OF_SCOPE,
)

EMERGENCY_MESSAGE = (
    "如果您或身边的人正面临生命危险，请立即拨打 110（报警）或 120（急救），火情请拨 119。"
    "如果您正经历强烈的痛苦或有伤害自己的念头，请拨打心理援助热线 12356，或联系身边信任的人陪伴您。"
    "其他需要政府部门协助的事项，可拨打 12345 政务服务便民热线。"
)

DEFAULT_MESSAGES: dict[Category, str] = {
    Category.EMERGENCY: EMERGENCY_MESSAGE,
    Category.TOO_LONG: "您的消息太长了，请精简到 {max_chars} 字以内，或分几次发送。",
    Category.INJECTION: "我是政务服务助手，只能按既定规则解答办事问题，无法执行修改设定或扮演其他角色的要求。请直接告诉我您想办理的事项。",
    Category.OTHER_CITIZEN_DATA: (
        "为保护个人信息，我不能查询或提供他人的身份、联系方式、住址、收入、社保等信息。"
        "本人信息可登录“一网通办”查询；代他人办理的，请携带授权委托书和双方身份证件到窗口办理。"
    ),
    Category.POLITICAL: "这个问题超出了政务服务咨询的范围，我无法回答。如需办理具体事项，欢迎继续咨询。",
    Category.LEGAL_MEDICAL_VERDICT: (
        "我不能对具体案件或病情作出判断或结论。法律问题可拨打 12348 公共法律服务热线或申请法律援助；"
        "健康问题请咨询正规医疗机构的医生。相关的办事流程（如法律援助申请、医保报销）我可以为您介绍。"
    ),
    Category.FABRICATED_POLICY: (
        "我只能依据已发布的现行政策答复，无法确认或代拟未经发布的政策、文件或通知。"
        "政策以政府官网和 12345 热线的权威发布为准。"
    ),
    Category.FRAUD: (
        "我不能协助伪造、变造证件或开具虚假证明，这样做可能触犯法律，申请也会被撤销。"
        "如需真实的收入、在职、居住等证明，可以向单位、街镇社区事务受理服务中心等出具部门申请，我可以告诉您正规的办理方式。"
    ),
    Category.OUT_OF_SCOPE: "我是政务服务助手，只能解答办事指南、政策和办理进度等问题。请告诉我您想办理什么事项。",
}

WITHHELD_MESSAGE = (
    "抱歉，这条答复未通过自动核验，暂不发送，以免给您不准确的信息。"
    "您可以换个问法再问一次，或转人工客服、拨打 12345 政务服务便民热线咨询。"
)

HELD_MESSAGE = "您的问题需要工作人员核实后答复，已转交人工复核。复核完成后，答复会显示在本会话中，请稍候。"

DEFAULT_FORBIDDEN_TERMS: tuple[str, ...] = (
    "保证通过", "保证能批", "包过", "包办下来", "百分之百通过", "100%通过", "走后门", "找关系", "托关系",
    "内部渠道", "红包", "好处费", "不用排队的办法", "作为人工智能", "作为AI", "as an AI",
)

DEFAULT_SENSITIVE_TOPICS: tuple[str, ...] = (
    "信访", "上访", "拆迁", "征收补偿", "强拆", "群体性", "行政复议", "行政诉讼", "国家赔偿", "医疗事故", "工亡",
    "死亡赔偿", "家暴", "家庭暴力", "性侵", "投诉工作人员",
)


DEFAULT_SERVICE_TERMS: tuple[str, ...] = (
    "津贴", "补贴", "补助", "救助", "低保", "社保", "医保", "养老金", "养老保险", "退休", "公积金", "居住证", "居住登记",
    "身份证", "户口", "户籍", "落户", "营业执照", "个体户", "个体工商户", "执照", "许可证", "备案", "残疾", "结婚", "离婚",
    "出生", "新生儿", "失业", "就业", "社保卡", "不动产", "房产证", "租房", "纳税", "税务", "注册公司", "注销", "刻章", "招牌",
    "驾驶证", "驾照", "护照", "出入境", "入学", "一网通办", "随申办", "办事", "办理", "申请", "申领", "窗口", "受理", "政务",
)


class RailsConfig(BaseModel):
    """Input and output rails. Rule files are YAML (see rulesets/input.yaml); extra files extend the bundled one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_chars: int = Field(default=2000, ge=10)
    max_bytes: int = Field(default=8000, ge=40)
    rule_files: tuple[Path, ...] = (RULESETS_DIR / "input.yaml",)
    extra_rule_files: tuple[Path, ...] = ()
    disabled_rules: frozenset[str] = frozenset()  # rule ids (without @version)
    messages: dict[Category, str] = Field(default_factory=lambda: dict(DEFAULT_MESSAGES))
    # A hidden (Unicode tag) payload this long is treated as smuggled instructions.
    hidden_text_min_chars: int = 4
    # Semantic rail (on when InputRails gets an embedder): k nearest exemplars, refusal margin.
    semantic_k: int = Field(default=3, ge=1, le=25)
    semantic_margin: float = 0.0
    # Below this many letters (Han or Latin, PII labels not counted) the semantic rail abstains: a form reply
    # such as 单位没变, 1 or an ID number has no meaning of its own to compare with refusal exemplars; the
    # pattern rules still see it.
    semantic_min_chars: int = Field(default=6, ge=0, le=50)
    # A message naming a government service is in scope by definition: the semantic rail never refuses it as
    # out of scope (沪语 "阿拉老头子72岁了 伊好领老年综合津贴伐" sits near 'recommend a phone for the elderly').
    service_terms: tuple[str, ...] = DEFAULT_SERVICE_TERMS
    semantic_exclude_exact: bool = False  # evaluation only: an exemplar never votes for its own text
    # Output rails
    forbidden_terms: tuple[str, ...] = DEFAULT_FORBIDDEN_TERMS
    require_citation: bool = True
    withheld_message: str = WITHHELD_MESSAGE


class HoldConfig(BaseModel):
    """When an answer waits for a human (人工复核) instead of going straight to the citizen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sensitive_topics: tuple[str, ...] = DEFAULT_SENSITIVE_TOPICS
    min_confidence: float = Field(default=0.45, ge=0.0, le=1.0)
    # Matter ids whose LLM-phrased answers are held; "*" holds LLM-phrased answers for every matter.
    llm_hold_matters: tuple[str, ...] = ("*",)
    held_message: str = HELD_MESSAGE
