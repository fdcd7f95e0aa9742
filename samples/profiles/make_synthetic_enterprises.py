#!/usr/bin/env python3
"""Generate SYNTHETIC enterprise profiles (一企一档) for policy matching and the 政策演算器.

  python samples/profiles/make_synthetic_enterprises.py            # writes enterprises_synthetic.jsonl
  python samples/profiles/make_synthetic_enterprises.py --check    # regenerates in memory, compares, verifies

Every record is made up and says so (`"synthetic": true`, names 上海示例…). The distributions are
plausible, not statistics: districts mostly 松江区, GB/T 4754 divisions weighted towards manufacturing,
wholesale/retail and software, log-normal firm sizes and ages, revenue per head by sector, tax credit
ratings A/B/M/C/D (new taxpayers are M), 高新技术企业 / 科技型中小企业 / 专精特新 only where they make sense.
The 统一社会信用代码 carry correct GB 11714 and GB 32100 check characters (they are still not real codes).
A few records leave out revenue_wan or tax_credit_rating, as real profiles do, so that matching has to say
"needs information". Deterministic: numpy's PCG64 with a fixed seed; stdlib + numpy only.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_checksums import USCC_CHARS, org_check_char, uscc_check_char, uscc_problems  # noqa: E402

SEED = 20261127
COUNT = 240
TODAY = dt.date(2026, 11, 27)  # "today" of the sample data (see README.md)
OUT = HERE / "enterprises_synthetic.jsonl"

DISTRICTS = {  # name: (weight, 行政区划代码)
    "松江区": (0.70, "310117"), "闵行区": (0.07, "310112"), "青浦区": (0.05, "310118"),
    "浦东新区": (0.05, "310115"), "嘉定区": (0.04, "310114"), "徐汇区": (0.03, "310104"),
    "奉贤区": (0.03, "310120"), "金山区": (0.03, "310116"),
}
# GB/T 4754-2017 divisions: code -> (weight, name word, employees median, revenue per head 万元 median)
INDUSTRIES = {
    "C13": (2, "食品", 30, 70), "C17": (2, "纺织", 40, 45), "C18": (2, "服饰", 35, 35),
    "C22": (1, "纸业", 40, 60), "C26": (3, "化工材料", 45, 110), "C27": (2, "生物医药", 60, 90),
    "C29": (3, "塑胶", 35, 55), "C30": (1, "新材料", 40, 70), "C33": (3, "金属制品", 35, 55),
    "C34": (4, "机械", 45, 65), "C35": (3, "装备", 50, 70), "C36": (2, "汽车零部件", 80, 95),
    "C38": (3, "电气", 55, 80), "C39": (5, "电子", 70, 85), "C40": (2, "仪器仪表", 40, 60),
    "F51": (9, "贸易", 8, 220), "F52": (7, "商贸", 6, 80),
    "G54": (3, "物流运输", 20, 60), "G58": (1, "供应链", 15, 90), "G59": (1, "仓储", 12, 50),
    "H61": (1, "酒店管理", 20, 25), "H62": (6, "餐饮", 10, 22),
    "I63": (1, "通信", 20, 70), "I64": (3, "网络科技", 15, 60), "I65": (8, "信息技术", 18, 45),
    "K70": (2, "置业", 10, 150), "L72": (6, "企业管理咨询", 6, 35), "M73": (2, "研发", 20, 40),
    "M74": (2, "工程技术", 15, 40), "M75": (3, "科技", 8, 30),
    "E47": (2, "建设工程", 30, 80), "E50": (2, "装饰工程", 15, 50), "O80": (2, "家政服务", 10, 15),
    "O81": (1, "汽车维修", 6, 25),
}
TECH = {"C26", "C27", "C34", "C35", "C36", "C38", "C39", "C40", "I63", "I64", "I65", "M73", "M74", "M75"}
MANUFACTURING = {c for c in INDUSTRIES if c.startswith("C")}
SHOP_INDUSTRIES = {"F52", "H62", "O80", "O81"}
TYPES = {  # weight for non-individual businesses
    "有限责任公司（自然人投资或控股）": 0.66, "有限责任公司（自然人独资）": 0.16,
    "股份有限公司（非上市、自然人投资或控股）": 0.05, "有限责任公司（外商投资、非独资）": 0.04,
    "有限责任公司（国有控股）": 0.02, "个人独资企业": 0.04, "合伙企业": 0.03,
}
WORDS = ("恒达 瑞丰 嘉禾 鼎盛 启明 星耀 云帆 泰和 博远 华创 锦程 安澜 宏图 睿智 远航 新源 同舟 茂林 天成 凯越 "
         "铭远 聚力 卓越 思源 和瑞 立信 永盛 青松 润泽 汇通 晨曦 德馨 方圆 九州 明澈 嘉信 广联 盈科 松风 云间").split()


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _uscc(rng: np.random.Generator, region: str, individual: bool) -> str:
    alphabet = USCC_CHARS  # digits and letters without I O S V Z
    body = "MA" + "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), 6))
    code17 = ("92" if individual else "91") + region + body + org_check_char(body)
    return code17 + uscc_check_char(code17)


def _rating(rng: np.random.Generator, age: float) -> str:
    if age < 1.0:
        return "M"  # new taxpayers have no rating yet (M)
    return _choice(rng, {"A": 0.22, "B": 0.50, "M": 0.12, "C": 0.11, "D": 0.05})


def make_profile(rng: np.random.Generator, n: int, used_names: set[str]) -> dict[str, object]:
    district = _choice(rng, {k: w for k, (w, _) in DISTRICTS.items()})
    code = _choice(rng, {k: v[0] for k, v in INDUSTRIES.items()})
    _, word, emp_median, rev_per_head = INDUSTRIES[code]
    individual = code in SHOP_INDUSTRIES and rng.random() < 0.45
    etype = "个体工商户" if individual else _choice(rng, TYPES)
    age = float(np.clip(rng.lognormal(np.log(5.5), 0.95), 0.05, 32.0))  # years since founding
    founded = TODAY - dt.timedelta(days=int(age * 365.25))
    scale = 0.25 if individual else 1.0
    employees = int(np.clip(round(rng.lognormal(np.log(emp_median * scale), 1.1)), 0, 6000))
    if individual:
        employees = min(employees, 12)
    if age < 0.5:
        employees = min(employees, int(rng.integers(0, 8)))
    revenue = round(max(employees, 1) * rng.lognormal(np.log(rev_per_head), 0.6) * min(1.0, age), 1)
    rating = _rating(rng, age)
    tech = code in TECH
    quals: list[str] = []
    if tech and not individual and age >= 1 and employees >= 10 and rng.random() < 0.35:
        quals.append("高新技术企业")
    if tech and not individual and employees <= 500 and rng.random() < 0.30:
        quals.append("科技型中小企业")
    specialised = (tech or code in MANUFACTURING) and not individual and age >= 3 and 20 <= employees <= 1000
    if specialised and rng.random() < (0.30 if "高新技术企业" in quals else 0.04):
        quals.append("专精特新")
    tags: list[str] = []
    if (code in MANUFACTURING or code.startswith("F51")) and rng.random() < 0.25:
        tags.append("出口企业")
    if employees <= 300 and revenue <= 5000 and not individual and rng.random() < 0.75:
        tags.append("小型微利企业")
    if revenue <= 500 and rng.random() < 0.7:
        tags.append("增值税小规模纳税人")
    if age <= 3 and not individual and rng.random() < 0.2:
        tags.append("入驻创业孵化基地")
    if employees >= 50 and rng.random() < 0.25:
        tags.append("安排残疾人就业")
    if code in MANUFACTURING and revenue >= 2000:
        tags.append("规上工业")
    if rating == "D" and rng.random() < 0.4:
        tags.append("严重失信主体")
    for _ in range(50):
        w = WORDS[int(rng.integers(len(WORDS)))] + WORDS[int(rng.integers(len(WORDS)))][0]
        if individual:
            name = f"上海示例{w}{word}店"
        elif etype == "合伙企业":
            name = f"上海示例{w}{word}合伙企业（有限合伙）"
        elif etype == "个人独资企业":
            name = f"上海示例{w}{word}商行"
        elif etype.startswith("股份"):
            name = f"上海示例{w}{word}股份有限公司"
        else:
            name = f"上海示例{w}{word}有限公司"
        if name not in used_names:
            break
    used_names.add(name)
    record: dict[str, object] = {
        "id": f"e-syn-{n:04d}",
        "kind": "enterprise",
        "synthetic": True,
        "name": name,
        "uscc": _uscc(rng, DISTRICTS[district][1], individual),
        "registered_district": district,
        "industry_code": code,
        "founded_on": founded.isoformat(),
        "employees": employees,
        "revenue_wan": revenue,
        "tax_credit_rating": rating,
        "qualifications": quals,
        "tags": tags,
        "enterprise_type": etype,
    }
    gap = rng.random()
    if gap < 0.04:
        del record["revenue_wan"]  # annual report not filed yet
    elif gap < 0.07:
        del record["tax_credit_rating"]  # rating not shared with the profile
    return record


def generate(count: int = COUNT, seed: int = SEED) -> list[dict[str, object]]:
    rng = np.random.Generator(np.random.PCG64(seed))
    used: set[str] = set()
    return [make_profile(rng, n, used) for n in range(1, count + 1)]


def dumps(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in records)


def main(argv: list[str]) -> int:
    records = generate()
    bad = [(r["id"], p) for r in records for p in uscc_problems(str(r["uscc"]))]
    if bad or not all(r["synthetic"] is True for r in records):
        print(f"FAIL: {bad[:5]}")
        return 1
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == dumps(records)
        print(f"{OUT.name}: {'up to date' if same else 'DIFFERS from the generator'}; {len(records)} records OK")
        return 0 if same else 1
    OUT.write_text(dumps(records), encoding="utf-8")
    print(f"wrote {len(records)} synthetic profiles to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
