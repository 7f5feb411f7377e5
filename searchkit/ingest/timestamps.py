"""Video timestamps as they appear in podcast and lecture notes.

Seen in real vaults: `<a class="yt-timestamp" data-t="01:19:03">[01:19:03]</a>`, the same
anchor without brackets, `data-t="12:34"`, `data-t="3647"` (plain seconds),
`data-t="02:02:22:00"` (a fourth, frames part), bare `[01:19:03]` or `(00:34:07)` in text,
a link to the moment in the note's own player (`[00:47:47](#t=00:47:47)`, `[word](0:01:55)`),
and junk such as
`data-t="N/A"`, which is ignored.

Three-part stamps are read per note (`note_reads_frames`): some notes write `MM:SS:ff`
(minutes, seconds, frames) where most write `h:mm:ss`, and only the whole run of a note's
stamps tells which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# An opening tag that carries a data-t attribute, quoted or not.
DATA_T = re.compile(r"""\bdata-t\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# `[01:19:03]` or `[12:34]` written in the text itself, or `(00:34:07)`: in parentheses
# only with hours, as `(10:30)` is as often a time of day.
BARE = re.compile(r"\[(\d{1,2}:\d{2}(?::\d{2})?)\]|\((\d{1,2}:\d{2}:\d{2})\)")
# Any three-part stamp in a place a timestamp is written (for `note_reads_frames`).
_THREE_PART = re.compile(
    r"""(?:data-t\s*=\s*["']?|[\[(]|[#?&]t=)(\d{1,2}):(\d{2}):(\d{2})(?!:?\d)""", re.IGNORECASE
)
# What an anchor's visible label looks like, so it can be dropped from the text.
LABEL = re.compile(r"\s*\[?\s*\d{1,3}(?::\d{1,2}){0,3}(?:\.\d+)?\s*\]?\s*")


# Hours from which an `A:B:00` stamp is read as A minutes B seconds (an `MM:SS:00` form,
# the `:00` a frames part). No video length is known at parse time, so this is a measured
# bound: in tubegraph (8,904 notes, 205k three-part stamps) stamps whose last part is not 00,
# i.e. real h:mm:ss, drop from 2,332 at 3 h to 539 at 4 h and a flat junk floor beyond,
# while `:00` stamps stay at 1-2k per "hour" up to 59 — e.g. `13:02:00` in a 20-minute
# 3blue1brown video. A real 4 h+ stamp that is exactly on the minute is the rare loss.
MMSS00_FROM_HOURS = 4


def note_reads_frames(text: str) -> bool:
    """Whether a note's three-part stamps are `MM:SS:ff` rather than `h:mm:ss`: read as
    hours, its latest stamp would sit MMSS00_FROM_HOURS hours or more into the video. A
    note's stamps run through one video in order, so one such stamp (`08:24:08` in a
    20-minute talk, 30,248 s as hours) shows how all of them are written; a note whose
    latest stamp stays under that bound keeps the common `h:mm:ss` reading."""
    if ":" not in text:
        return False
    latest = (0, 0)
    for m in _THREE_PART.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if b < 60:
            latest = max(latest, (a, b))
    return latest[0] >= MMSS00_FROM_HOURS


def parse_timestamp(value: str, frames: bool | None = None) -> int | None:
    """Seconds for `h:mm:ss`, `m:ss`, `h:mm:ss:ff` (frames dropped) or plain seconds.

    `frames` (the note's reading, `note_reads_frames`): True reads `A:B:C` as A minutes,
    B seconds, C frames; False as hours, minutes, seconds. None decides per stamp:
    `A:B:00` with A >= MMSS00_FROM_HOURS is read as `MM:SS:00` (A minutes, B seconds):
    videos of 4 hours or more are rare, minute:second:frame stamps are not.
    """
    text = value.strip().strip("[]").strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) == 1:
        try:
            seconds = float(text)
        except ValueError:
            return None
        return int(seconds) if seconds >= 0 and seconds == seconds else None
    if len(parts) == 4:
        parts = parts[:3]  # hh:mm:ss:ff, the last part counts frames
    elif len(parts) == 3 and frames is not None:
        if frames and parts[1].strip().isdigit() and int(parts[1]) < 60:
            parts = parts[:2]
    elif (
        len(parts) == 3
        and parts[0].strip().isdigit()
        and int(parts[0]) >= MMSS00_FROM_HOURS
        and parts[2].strip().isdigit()
        and int(parts[2]) == 0
    ):
        parts = parts[:2]  # MM:SS:00
    if len(parts) > 3 or not all(p.strip().isdigit() for p in parts[:-1]):
        return None
    try:
        last = float(parts[-1])
    except ValueError:
        return None
    if last < 0 or last != last:
        return None
    total = 0
    for p in parts[:-1]:
        total = total * 60 + int(p)
    return int(total * 60 + last)


def data_t_seconds(tag: str, frames: bool | None = None) -> int | None:
    """Seconds named by a tag's `data-t` attribute, or None if it has none or it is junk."""
    match = DATA_T.search(tag)
    if match is None:
        return None
    return parse_timestamp(next(g for g in match.groups() if g is not None), frames)


# A time anywhere in a broken tag: `data-t="00:29:29]`, `data=t="00:07:13"`.
_LOOSE_TIME = re.compile(r"\bdata\W?t\W{0,3}(\d{1,2}(?::\d{2}){1,2})", re.IGNORECASE)


def salvage_seconds(tag: str, frames: bool | None = None) -> int | None:
    """Seconds of a malformed anchor: its `data-t` if that parses, else the first time
    written after a `data-t`-like name (a quote never closed, `data=t`); None if neither."""
    seconds = data_t_seconds(tag, frames)
    if seconds is not None:
        return seconds
    match = _LOOSE_TIME.search(tag)
    return parse_timestamp(match.group(1), frames) if match else None


# A whole timestamp anchor as notes write it: `<a class="yt-timestamp" data-t="01:19:03">
# [01:19:03]</a>` (20.7 % of tubegraph's characters are this markup).
_ANCHOR = re.compile(r"<a\b[^<>]*\bdata-t\s*=[^<>]*>[^<>]{0,40}</a\s*>", re.IGNORECASE)


def shorten_markup(text: str, frames: bool | None = None) -> str:
    """`text` with each timestamp anchor replaced by `[m:ss]` (or `[h:mm:ss]`), for
    reading a note; an anchor whose time cannot be read is left as written."""
    if "<a" not in text and "<A" not in text:
        return text

    def short(m: re.Match[str]) -> str:
        seconds = data_t_seconds(m.group(0), frames)
        return m.group(0) if seconds is None else f"[{format_timestamp(seconds)}]"

    return _ANCHOR.sub(short, text)


def format_timestamp(seconds: int) -> str:
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


_URL_T = re.compile(r"[?&#](?:t|start|time_continue)=([0-9hms.]+)")
_HMS = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


# A link to a moment of the note's own player: `#t=00:47:47`, `#t=2867`, or a bare time as
# the link target (`[history](00:01:19)`, 3 notes in tubegraph).
_OWN_T = re.compile(r"(?:#t=)?(\d{1,2}(?::\d{2}){1,2})|#t=(\d+(?:\.\d+)?)", re.IGNORECASE)


def url_seconds(href: str, frames: bool | None = None) -> int | None:
    """Seconds of a YouTube link's `t=`/`start=` parameter (`t=75`, `t=75s`, `t=1h2m3s`),
    or of a link to the note's own player (`#t=00:47:47`)."""
    lowered = href.lower()
    own = _OWN_T.fullmatch(lowered)
    if own is not None:
        return parse_timestamp(own.group(1) or own.group(2), frames)
    if "youtu" not in lowered:
        return None
    match = _URL_T.search(lowered)
    if match is None:
        return None
    hms = _HMS.match(match.group(1))
    if hms is None or not any(hms.groups()):
        return None
    h, m, s = hms.groups()
    return int(h or 0) * 3600 + int(m or 0) * 60 + int(float(s or 0))


# Where a sentence ends, for `nearest_timestamp`.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+|\n")


def nearest_timestamp(
    timestamps: Sequence[Sequence[int]], anchor: int | None, text: str = ""
) -> int | None:
    """Seconds of the timestamp that belongs to the match at `anchor` (offset in `text`).

    Notes cite a moment *after* the sentence it supports ("… bones are fossils [00:17:03]."),
    so the first timestamp between the match and the end of its sentence wins; failing that
    the closest one before the match (transcripts that lead with "[01:19:03] Speaker: …"),
    failing that the first after. No match in the body (a title-only hit): the first one.
    """
    stamps = sorted((int(o), int(s)) for s, o in (tuple(t)[:2] for t in timestamps if t))
    if not stamps:
        return None
    if anchor is None:
        return stamps[0][1]
    m = _SENTENCE_END.search(text, anchor) if text else None
    sentence_end = (m.end() + 1) if m else len(text) + 1
    for off, sec in stamps:
        if anchor <= off <= sentence_end:
            return sec
    before = [(off, sec) for off, sec in stamps if off < anchor]
    if before:
        return before[-1][1]
    return stamps[0][1]
