"""The hub's request and response bodies (Pydantic at the boundary only).

Requests refuse unknown fields and values of the wrong type (``strict``): a contribution is
numbers in stated ranges, never free text.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    field_validator,
    model_validator,
)

__all__ = [
    "DEFAULT_IGNORABLE",
    "IGNORED_IN_NAMES",
    "INVISIBLE_LETTERS",
    "TAG_FLAGS",
    "VARIATION_SELECTORS",
    "ArmEffect",
    "Contribution",
    "ContributionAccepted",
    "DiffInDiff",
    "Effect",
    "Group",
    "GroupCreate",
    "GroupRename",
    "Intervention",
    "InterventionCreate",
    "Invite",
    "InviteCreate",
    "InviteInfo",
    "JoinRequest",
    "Joined",
    "Left",
    "MeasureEffect",
    "MeasureStat",
    "PeriodCell",
    "Summary",
    "valid_name",
]

#: Unknown fields refused; numbers must be JSON numbers (``StrictInt``/``StrictFloat``: no
#: strings, no booleans), finite.
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


#: Unicode categories refused in a name: controls (NUL, tab, newline, DEL, C1), format
#: characters (zero-width space, soft hyphen, word joiner, BOM, bidi overrides; the two
#: joiners only where they join nothing, :data:`JOINERS`) and the line and paragraph
#: separators.
_REFUSED_CATEGORIES = {
    "Cc": "control",
    "Cf": "invisible format",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}

#: Zero-width non-joiner and joiner: format characters that are part of how some words and
#: emoji are written (a Persian word with U+200C, a family emoji joined by U+200D). Allowed
#: between two other characters that are not spaces, refused at an end, beside a space or
#: beside each other; names are compared without them (:func:`hub.store.groups.group_name_key`),
#: so ``"Sales\u200dnorth"`` is not a second ``"Salesnorth"``.
JOINERS = frozenset("\u200c\u200d")

#: Variation selectors: VS1-VS16 (U+FE00-FE0F), VS17-VS256 (U+E0100-E01EF) and the Mongolian
#: free variation selectors (U+180B-180D, U+180F). Invisible, they choose how the character
#: before them looks (``"\u2764\ufe0f"``, the red heart emoji; a CJK ideograph's variant), so
#: they are allowed right after a character that is not a space, a joiner or another
#: selector, refused elsewhere (they select nothing there), and, as the joiners, left out
#: when names are compared (:func:`hub.store.groups.group_name_key`): ``"Sales\ufe00"`` looks
#: like ``"Sales"`` and is not a second name (review of 2026-12-06).
VARIATION_SELECTORS = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)]
    + [chr(c) for c in range(0xE0100, 0xE01F0)]
    + ["\u180b", "\u180c", "\u180d", "\u180f"]
)

#: Characters that show nothing although their category is a letter, a mark or a symbol,
#: refused in a name as the format characters are (review of 2026-12-06: each made a name
#: that looks blank or like another group's). Their uses are not a group's name: the
#: combining grapheme joiner keeps combining marks apart in scholarly text; the Hangul
#: fillers stand for a missing part of an old syllable (U+115F, U+1160) or are blank
#: compatibility jamo (U+3164, U+FFA0, a known way to make blank user names); U+2800 is the
#: braille cell with no dots; the Khmer inherent vowels are deprecated by Unicode.
INVISIBLE_LETTERS = {
    "\u034f": "combining grapheme joiner",
    "\u115f": "Hangul filler",
    "\u1160": "Hangul filler",
    "\u3164": "Hangul filler",
    "\uffa0": "Hangul filler",
    "\u2800": "blank braille",
    "\u17b4": "Khmer inherent vowel",
    "\u17b5": "Khmer inherent vowel",
}

#: Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, a list Unicode
#: keeps stable: a code point once in it stays): characters a renderer draws as nothing,
#: unassigned ones too. Refused in a name (review rev12: unassigned U+2065, U+FFF0-FFF8 and
#: U+E0000-E0FFF are of category ``Cn``, not ``Cf``, passed, and each made a look-alike of
#: another group's name), but for the joiners where they join, the variation selectors
#: where they select (:func:`_no_control_characters`) and the tag characters of the three
#: subdivision flags (:data:`TAG_FLAGS`). Other unassigned code points (``Cn`` in this
#: Python's Unicode) are not refused: a newer emoji is unassigned in an older Python's
#: tables, and a character no font has is drawn as a visible box, not as nothing.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

#: The emoji tag sequences a name may have: the flags of England, Scotland and Wales, a
#: black flag (U+1F3F4) followed by the tag characters (U+E0020-E007E) spelling ``gbeng``,
#: ``gbsct`` or ``gbwls`` and the cancel tag (U+E007F). They are the only tag sequences
#: Unicode recommends for general interchange (UTS #51, RGI); any other tag, or these tags
#: anywhere else, is refused: a renderer shows another tag sequence as the plain black flag,
#: or nothing for the tags, so it would be a look-alike (review rev12: the three flags were
#: refused as invisible format characters).
TAG_FLAGS = frozenset(
    "🏴" + "".join(chr(0xE0000 + ord(c)) for c in spec) + "󠁿" for spec in ("gbeng", "gbsct", "gbwls")
)


def _default_ignorable(c: str) -> bool:
    """Whether ``c`` is a Default_Ignorable_Code_Point (:data:`DEFAULT_IGNORABLE`)."""
    code = ord(c)
    return any(low <= code <= high for low, high in DEFAULT_IGNORABLE)


def _in_tag_flags(name: str) -> set[int]:
    """The positions in ``name`` of the tag characters of a flag of :data:`TAG_FLAGS`."""
    inside: set[int] = set()
    at = name.find("🏴")
    while at >= 0:
        for flag in TAG_FLAGS:
            if name.startswith(flag, at):
                inside.update(range(at + 1, at + len(flag)))
                break
        at = name.find("🏴", at + 1)
    return inside


#: What group names are compared without (:func:`hub.store.groups.group_name_key`): the
#: joiners and the variation selectors, where a name may have them.
IGNORED_IN_NAMES = JOINERS | VARIATION_SELECTORS

#: The most characters a name has, counted as stored (trimmed, inner spaces collapsed).
NAME_MAX_CHARS = 100


def _no_control_characters(name: str) -> str:
    """A name as a line of visible text: no control, format or line-separator character.

    A name is shown on one line of the dashboard and the effect CSV; PostgreSQL refuses NUL in
    text (it was a 500 there while SQLite stored it). Invisible format characters (category
    ``Cf``: ``"Sales north\u200b"``, ``"Sales\u00adnorth"``, ``"\u202eSales north"``) and
    U+2028/U+2029 made names that look like another group's, or display reversed, and were
    accepted as different groups (review). So did the letters and marks that show nothing
    (:data:`INVISIBLE_LETTERS`, refused) and variation selectors where they select nothing
    (:data:`VARIATION_SELECTORS`, refused there; after a character they are allowed), and
    the default-ignorable code points unassigned yet (:data:`DEFAULT_IGNORABLE`, refused; the
    tags of England's, Scotland's and Wales's flags allowed there, :data:`TAG_FLAGS`).
    """
    flags = _in_tag_flags(name) if "🏴" in name else set()
    for at, c in enumerate(name):
        if c in JOINERS and _joins(name, at):
            continue
        if at in flags:
            continue
        if c in VARIATION_SELECTORS:
            if _selects(name, at):
                continue
            raise ValueError(
                f"a variation selector ({c!r}, U+{ord(c):04X}, at {at}) goes right after the "
                "character it changes, not at the start, after a space, a joiner or another"
            )
        if c in INVISIBLE_LETTERS:
            raise ValueError(
                f"no invisible characters in a name ({INVISIBLE_LETTERS[c]}, U+{ord(c):04X}, "
                f"at {at})"
            )
        if 0xE0020 <= ord(c) <= 0xE007F:
            raise ValueError(
                f"a tag character (U+{ord(c):04X}, at {at}) is only in the flags of England, "
                "Scotland and Wales (U+1F3F4, the tags gbeng, gbsct or gbwls, U+E007F)"
            )
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(c))
        if kind is not None:
            raise ValueError(f"no {kind} characters in a name ({c!r}, U+{ord(c):04X}, at {at})")
        if _default_ignorable(c):
            raise ValueError(
                f"no invisible characters in a name (default ignorable, U+{ord(c):04X}, at {at})"
            )
    return name


def _selects(name: str, at: int) -> bool:
    """The variation selector at ``at`` follows a character it can change.

    One that is not a space, a joiner or a variation selector (a selector after one of those
    changes nothing and is only invisible).
    """
    if at == 0:
        return False
    before = name[at - 1]
    return not (before.isspace() or before in JOINERS or before in VARIATION_SELECTORS)


def _joins(name: str, at: int) -> bool:
    """The joiner at ``at`` stands between two characters that are neither spaces nor joiners."""
    if at == 0 or at == len(name) - 1:
        return False
    before, after = name[at - 1], name[at + 1]
    return not (before.isspace() or after.isspace() or before in JOINERS or after in JOINERS)


def _trimmed(name: str) -> str:
    """A name without the spaces around it and with each run of inner spaces one space.

    Spaces at either end are invisible on the dashboard, and made ``" Sales "`` a second
    group beside ``"Sales"`` (admin review); two spaces inside show as one in the dashboard's
    table, and ``"Sales  north"`` was a second ``"Sales north"`` (review). Any Unicode space
    counts (``str.split``: a no-break space too). Not spaces only. Group names are compared
    so too, and ignoring case: :func:`hub.store.groups.group_name_key`.
    """
    trimmed = " ".join(name.split())
    if not trimmed:
        raise ValueError("a name needs a character other than spaces")
    return trimmed


def _not_too_long(name: str) -> str:
    """At most :data:`NAME_MAX_CHARS` characters as stored: the spaces trimmed don't count.

    The limit was checked on the text as sent, so ``"   " + "a" * 100`` was refused though
    the name kept had 100 characters (review).
    """
    if len(name) > NAME_MAX_CHARS:
        raise ValueError(
            f"a name has at most {NAME_MAX_CHARS} characters (without the spaces around it, "
            f"inner spaces as one): this one has {len(name)}"
        )
    return name


#: An admin's name for a group or an intervention: no control or format characters
#: (:func:`_no_control_characters`), trimmed with inner spaces collapsed (:func:`_trimmed`),
#: 1-100 characters so (:func:`_not_too_long`).
Name = Annotated[
    str,
    AfterValidator(_no_control_characters),
    AfterValidator(_trimmed),
    AfterValidator(_not_too_long),
]


class GroupCreate(BaseModel):
    """A new group: a team, a department, a study arm."""

    model_config = _STRICT
    name: Name = Field(
        min_length=1,
        description="Shown to admins only; 1-100 characters once trimmed, inner spaces "
        "collapsed to one (so stored); no control or invisible characters; unique "
        "ignoring case and spaces",
    )
    k: StrictInt = Field(
        default=5, ge=3, le=1000, description="Minimum group size of any statistic"
    )


_NAME = TypeAdapter(Name)


def valid_name(name: str) -> str:
    """``name`` by the rules of :data:`Name`, as stored (trimmed); ``ValidationError`` if not."""
    checked: str = _NAME.validate_python(name)
    return checked


class GroupRename(BaseModel):
    """A group's new name (its id, k, members and released figures stay).

    Checked by the rules of a new name where the route renames: a group renamed to its own
    name as stored is a no-op that succeeds, also for a name stored before a rule that now
    refuses it, so a script that sets the name it wants can run again.
    """

    # the rules: valid_name; the no-op: hub.store.groups.GroupStore.rename_group (review
    # rev12: renaming a group to its own name, stored before a rule, was a 422)

    model_config = _STRICT
    name: str = Field(
        min_length=1,
        description="Shown to admins only; 1-100 characters once trimmed, inner spaces "
        "collapsed to one (so stored); no control or invisible characters; unique "
        "ignoring case and spaces",
    )


class Group(BaseModel):
    """A team: its name, its k (the smallest count any statistic is released for), its members."""

    id: str
    name: str
    k: int
    created: dt.date
    members: int = Field(
        description="Members sharing (not left) whose first counted week has closed; a newcomer "
        "counts from then on, so no withdrawal changes it"
    )


class InviteCreate(BaseModel):
    """What an admin asks for a new invite: how long it is valid and how many may join with it."""

    model_config = _STRICT
    days: StrictInt = Field(default=14, ge=1, le=90, description="Days the code is valid")
    uses: StrictInt = Field(default=100, ge=1, le=10_000, description="How many may join with it")


class Invite(BaseModel):
    """An invite code as created (the hub keeps only its hash, so it is shown once)."""

    code: str = Field(description="Give it to the people invited; shown once")
    id: str = Field(description="The invite's id (to list or revoke it); not the code")
    group_id: str
    expires: dt.datetime
    uses: int


class InviteInfo(BaseModel):
    """An invite as the hub keeps it: no code (only its hash is stored), what is left of it."""

    id: str = Field(description="The first 12 hex digits of the code's SHA-256")
    group_id: str
    created: dt.datetime | None = Field(description="None for a revoked invite")
    expires: dt.datetime | None = Field(description="None for a revoked invite")
    uses_left: int
    status: Literal["active", "expired", "used_up", "revoked"] = Field(
        description="revoked: listed while it may still be withdrawn (POST .../withdraw): "
        "until the first counted week of its last join has closed"
    )


class InviteWithdrawn(BaseModel):
    """An invite withdrawn: revoked, its members who had not yet counted removed.

    No count of them: it would depend on what they did (of a one-person invite, whether that
    person had stopped sharing or deleted their days); README, "A leaked code: withdraw it".
    Nor does the group's member count (``members``) change: it counts only members who
    counted in a closed week, whom no withdrawal removes.
    """

    invite_id: str
    revoked: bool = Field(description="Whether the invite was still there (false: revoked earlier)")


class JoinRequest(BaseModel):
    """A person joining a group with an invite code."""

    model_config = _STRICT
    code: str = Field(min_length=1, max_length=100)


class Joined(BaseModel):
    """The new member's pseudonymous id, token (shown once) and first counted week."""

    member_id: str = Field(description="Random pseudonymous id")
    group_id: str
    token: str = Field(description="The member's token: keep it, it is shown once")
    counts_from: dt.date = Field(description="Monday of the first whole week that counts")


class Contribution(BaseModel):
    """One day's aggregates of one person; every measure may be null (no data that day)."""

    model_config = _STRICT
    date: dt.date = Field(description="The day (the person's local date)")
    resting_rmssd_ms: StrictFloat | None = Field(default=None, ge=1, le=300)
    resting_hr_bpm: StrictFloat | None = Field(default=None, ge=25, le=220)
    stress: StrictFloat | None = Field(default=None, ge=1, le=5, description="Mean check-in, 1-5")
    energy: StrictFloat | None = Field(default=None, ge=1, le=5, description="Mean check-in, 1-5")
    prompts_sent: StrictInt | None = Field(default=None, ge=0, le=500)
    prompts_answered: StrictInt | None = Field(default=None, ge=0, le=500)
    breaks: StrictInt | None = Field(default=None, ge=0, le=500)
    break_effect_rmssd_ms: StrictFloat | None = Field(
        default=None, ge=-200, le=200, description="Mean RMSSD change over the day's breaks"
    )
    practice_min: StrictFloat | None = Field(default=None, ge=0, le=1440)

    @field_validator("date", mode="before")
    @classmethod
    def _date_is_text(cls, value: object) -> object:
        if not isinstance(value, str | dt.date):
            raise ValueError("date must be a YYYY-MM-DD string")
        return value

    @model_validator(mode="after")
    def _answered_not_above_sent(self) -> Contribution:
        if (
            self.prompts_sent is not None
            and self.prompts_answered is not None
            and self.prompts_answered > self.prompts_sent
        ):
            raise ValueError("prompts_answered is above prompts_sent")
        return self


class ContributionAccepted(BaseModel):
    """A day taken: its date and the ISO week it counts in."""

    date: dt.date
    period: str = Field(description="ISO week the day counts in, e.g. 2026-W05")


class Left(BaseModel):
    """A member who stopped sharing, and how many of their days were deleted."""

    deleted_contributions: int
    member_id: str


class MeasureStat(BaseModel):
    """One measure of a week: over ``n`` contributing members' weekly means (``n`` >= k)."""

    suppressed: bool
    n: int | None = Field(default=None, description="Contributing members (>= the group's k).")
    mean: float | None = Field(default=None, description="Mean of the members' weekly means.")
    median: float | None = Field(
        default=None,
        description="Median of the members' weekly means; released only when n >= 5 (a median "
        "of 3 or 4 values is one member's exact value), else null while mean and n are given.",
    )


class PeriodCell(BaseModel):
    """One ISO week of one group; ``suppressed`` cells carry no value and no count."""

    period: str = Field(description="ISO week, e.g. 2026-W05")
    start: dt.date
    end: dt.date = Field(description="The next Monday (exclusive)")
    status: Literal["closed", "open", "before_group"]
    suppressed: bool
    reason: str | None = Field(
        default=None, description="fewer_than_k, open (not closed yet) or before_group"
    )
    closes: dt.datetime | None = Field(default=None, description="When an open week closes")
    members: int | None = Field(default=None, description="Members for the whole week")
    contributors: int | None = Field(default=None, description="Members who sent data")
    measures: dict[str, MeasureStat] | None = None


class Summary(BaseModel):
    """A group's weeks from ``from`` to ``to``, each a cell released or suppressed."""

    model_config = ConfigDict(populate_by_name=True)
    group_id: str
    k: int
    by: Literal["week"]
    from_: dt.date = Field(alias="from", description="Monday of the first week")
    to: dt.date = Field(description="Sunday of the last week")
    periods: list[PeriodCell]


class InterventionCreate(BaseModel):
    """An intervention to evaluate: its group's dates and an optional control group."""

    model_config = _STRICT
    name: Name = Field(
        min_length=1,
        description="1-100 characters once trimmed, inner spaces collapsed to one (so "
        "stored); no control or invisible characters",
    )
    start: dt.date
    end: dt.date
    control_group: str | None = Field(default=None, max_length=40)


class Span(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: dt.date = Field(alias="from")
    to: dt.date


class Intervention(BaseModel):
    """T1 is the intervention's whole weeks, T0 as many whole weeks just before it."""

    id: str
    group_id: str
    name: str
    start: dt.date
    end: dt.date
    control_group: str | None
    t0: Span
    t1: Span
    ready: bool = Field(description="T1 has closed: the effect can be computed")


class ArmEffect(BaseModel):
    """The T0 -> T1 change of one measure in one arm (group or control), paired by member."""

    suppressed: bool
    reason: str | None = Field(
        default=None,
        description="Why suppressed: fewer_than_k (a T0 or T1 week's cell, or its pairs, under "
        "k members), or differencing (the pairs are not exactly the members of every T0 and T1 "
        "week's cell: released, it could be subtracted from the cells down to one person)",
    )
    n: int | None = Field(
        default=None,
        description="Pairs: the members of every T0 and T1 week's cell (the same set each week)",
    )
    mean_t0: float | None = Field(
        default=None, description="Mean of the T0 weeks' cell means (each pair's weekly means)"
    )
    mean_t1: float | None = Field(default=None, description="The same over T1")
    mean_change: float | None = None
    sd_change: float | None = None
    ci_low: float | None = Field(default=None, description="95 % CI (t distribution)")
    ci_high: float | None = None
    d_z: float | None = Field(default=None, description="Cohen's d_z (mean change / SD)")


class DiffInDiff(BaseModel):
    """The group's mean change minus the control's, with a Welch 95 % confidence interval."""

    estimate: float
    ci_low: float
    ci_high: float
    df: float = Field(description="Welch-Satterthwaite degrees of freedom")


class MeasureEffect(BaseModel):
    """One measure's effect: the group's change, the control's, and their difference."""

    group: ArmEffect
    control: ArmEffect | None = None
    diff_in_diff: DiffInDiff | None = None


class Effect(Intervention):
    """An intervention with its effect on every measure, computed once after T1 has closed."""

    computed_at: int = Field(description="Unix time the effect was computed (once)")
    measures: dict[str, MeasureEffect]
