"""A fixture tracker in every script the reports must show, with hostile names.

Not the demo data: one team whose people, sprints and issues are written in
Latin with diacritics, Greek, Cyrillic, Arabic, Hebrew, Han (simplified and
traditional), Japanese kana, Hangul, Thai, Devanagari and emoji, mixed
directions in one cell, and names built to break things (paths, formulas,
control characters, markup, bidi overrides, very long words).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import create_engine, insert

from sprint_exports.source import schema

# One short sample per script: each fits a summary cell on one line.
SCRIPT_SAMPLES = {
    "latin": "Ærøskøbing Çağrı Łódź Dvořák Nguyễn Đức",
    "greek": "Διόρθωση σφάλματος σύνδεσης",
    "cyrillic": "Исправить ошибку входа Україна",
    "arabic": "إصلاح خطأ تسجيل الدخول",
    "hebrew": "תיקון באג בכניסה למערכת",
    "han_simplified": "修复登录错误并优化数据库",
    "han_traditional": "修復登錄錯誤與優化資料庫",
    "kana": "ログインのバグをなおす",
    "hangul": "로그인 오류 수정하기",
    "thai": "แก้ไขข้อผิดพลาดการเข้าสู่ระบบ",
    "devanagari": "लॉगिन त्रुटि ठीक करें",
    "emoji": "Ship it 🚀 🐛 ✅ 🎉 👍🏽 ❤️ 👨‍👩‍👧 🇩🇪 1️⃣",
}
# Right-to-left inside left-to-right and the other way round, digits and brackets included.
MIXED_DIRECTION = {
    "arabic_in_latin": "Fix تسجيل الدخول in v2 (build 42)",
    "latin_in_hebrew": "עדכון API גרסה 3 לשרת",
}
HOSTILE = {
    "path": "../../etc/passwd",
    "windows_path": "C:\\Windows\\System32\\CON",
    "formula": '=HYPERLINK("http://evil.example","click")',
    "plus_formula": "+cmd|' /C calc'!A0",
    "markup": "<b>&amp; bold</b> & <font name=x>",
    "control": "bell\x07 escape\x1b[31m tab\tend",
    "long_word": "Donaudampfschifffahrtsgesellschaftskapitänswitwe" * 6,
    "bidi_override": "\u202eevil\u202c override",
}
PEOPLE = [
    "محمد عبد الله",
    "דוד כהן",
    "山田 太郎",
    "김민준",
    "王小明",
    "陳大文",
    "สมชาย ใจดี",
    "अनिल कुमार",
    "Ελένη Παπαδοπούλου",
    "Иван Петров",
    "Zoë Ñúñez",
    "=cmd|'/C calc'!A0",
]
# The team's completed sprints, oldest first: the velocity chart labels its bars with these names.
SPRINT_NAMES = ["إطلاق ١ 🚀", "ספרינט 2", "スプリント3 🎌", "스프린트 4", "冲刺五 🐉 Σπριντ"]
TEAM_NAME = "Команда 🌍 فريق"
SPRINT_GOAL = "目标: ship إصلاح and תיקון 🚀 " + HOSTILE["long_word"]


def all_samples() -> dict[str, str]:
    """Every summary the fixture sprint holds, by name."""
    return {**SCRIPT_SAMPLES, **MIXED_DIRECTION, **HOSTILE}


def seed_scripts_tracker(url: str) -> int:
    """Create the fixture tracker at SQLAlchemy `url`; returns the id of the sprint to report on (the last)."""
    engine = create_engine(url)
    schema.metadata.create_all(engine)
    start = date(2026, 1, 5)
    with engine.begin() as connection:
        connection.execute(insert(schema.teams), [{"id": 1, "name": TEAM_NAME}])
        connection.execute(
            insert(schema.users),
            [
                {"id": index, "name": name, "email": f"person{index}@example.com", "role": "member"}
                for index, name in enumerate(PEOPLE, start=1)
            ],
        )
        connection.execute(
            insert(schema.team_members),
            [{"team_id": 1, "user_id": index, "role": "Developer", "capacity": 60} for index in range(1, len(PEOPLE) + 1)],
        )
        sprint_rows = []
        for number, name in enumerate(SPRINT_NAMES, start=1):
            first = start + timedelta(days=14 * (number - 1))
            sprint_rows.append(
                {
                    "id": number,
                    "team_id": 1,
                    "name": name,
                    "status": "completed",
                    "start_date": first,
                    "end_date": first + timedelta(days=13),
                    "goal": SPRINT_GOAL,
                    "updated_at": datetime(2026, 3, 1),
                }
            )
        connection.execute(insert(schema.sprints), sprint_rows)
        connection.execute(insert(schema.issues), list(_issue_rows(sprint_rows)))
    engine.dispose()
    return len(SPRINT_NAMES)


def _issue_rows(sprint_rows: list[dict]):
    issue_id = 0
    samples = list(all_samples().values())
    statuses = schema.ISSUE_STATUSES
    for sprint in sprint_rows:
        # Earlier sprints get a few done issues, so the velocity chart has bars; the last gets every sample.
        summaries = samples if sprint["id"] == len(sprint_rows) else samples[: 3 + sprint["id"]]
        for index, summary in enumerate(summaries):
            issue_id += 1
            done = sprint["id"] != len(sprint_rows) or index % 2 == 0
            created = datetime.combine(sprint["start_date"], datetime.min.time())
            yield {
                "id": issue_id,
                "sprint_id": sprint["id"],
                "key": f"ÜB-{issue_id}",
                "summary": summary,
                "status": "Done" if done else statuses[index % 3],
                "issue_type": "Story",
                "priority": "High",
                "assignee_id": 1 + index % len(PEOPLE),
                "story_points": 1 + index % 5,
                "labels": "i18n,🌍,ラベル",
                "created_at": created,
                "resolved_at": created + timedelta(days=3) if done else None,
                "updated_at": created + timedelta(days=3),
            }
