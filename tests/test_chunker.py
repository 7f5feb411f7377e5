"""Focused tests of the chunker: one per case real vaults contain."""

from __future__ import annotations

import datetime
import json
import textwrap

import pytest

from searchkit import chunk_markdown
from searchkit.errors import NoteError
from searchkit.ingest.chunker import MAX_CHUNK_CHARS, Timestamp, load_note
from searchkit.ingest.notes import parse_note
from searchkit.ingest.timestamps import parse_timestamp


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def summary(chunks):
    return [(c.kind, c.heading_path, c.text) for c in chunks]


# --- frontmatter -------------------------------------------------------------------------


def test_frontmatter_fields_and_line_numbers():
    text = md(
        """
        ---
        title: Sleep and memory
        videoId: Kx3mP9vLq2E
        tags: [sleep, Memory]
        aliases: [Slumber notes]
        rating: 5
        date: 2024-05-01
        ---

        Intro paragraph.

        ## Deep sleep
        Slow waves replay the day.
        """
    )
    note = parse_note(text, "sleep.md")
    assert note.title == "Sleep and memory"
    assert note.video_id == "Kx3mP9vLq2E"
    assert note.tags == ("sleep", "Memory")
    assert note.aliases == ("Slumber notes",)
    assert note.frontmatter["rating"] == 5
    assert note.frontmatter["date"] == datetime.date(2024, 5, 1)
    assert note.body_line == 9
    chunks = chunk_markdown(text, "sleep.md")
    assert summary(chunks) == [
        ("intro", (), "Intro paragraph."),
        ("section", ("Deep sleep",), "Slow waves replay the day."),
    ]
    assert (chunks[0].line_start, chunks[0].line_end) == (10, 10)
    assert (chunks[1].line_start, chunks[1].line_end) == (12, 13)
    assert all(c.title == "Sleep and memory" and c.video_id == "Kx3mP9vLq2E" for c in chunks)


def test_tags_as_string_and_inline_tags():
    text = "---\ntags: 'podcast, #health sleep'\n---\nText with #inline/nested and C# and a#b.\n"
    chunks = chunk_markdown(text, "n.md")
    assert chunks[0].tags == ("podcast", "health", "sleep", "inline/nested")


def test_video_id_from_url_field():
    url = "https://www.youtube.com/watch?v=Kx3mP9vLq2E&t=10"
    note = parse_note(f"---\nurl: {url}\n---\nx\n", "n.md")
    assert note.video_id == "Kx3mP9vLq2E"
    note = parse_note("---\nsource: https://youtu.be/Kx3mP9vLq2E\n---\nx\n", "n.md")
    assert note.video_id == "Kx3mP9vLq2E"
    assert parse_note("---\nurl: https://example.com/\n---\nx\n", "n.md").video_id is None


def test_non_string_title_and_odd_values():
    note = parse_note("---\ntitle: 1984\ntags: 7\naliases:\n---\nbody\n", "n.md")
    assert note.title == "1984"
    assert note.tags == ("7",)
    assert note.aliases == ()


def test_title_falls_back_to_first_h1_then_stem():
    assert chunk_markdown("# Real title\n\ntext\n", "dir/stem name.md")[0].title == "Real title"
    assert chunk_markdown("## Only h2\n\ntext\n", "dir/stem name.md")[0].title == "stem name"


def test_malformed_yaml_keeps_body_and_warns():
    text = "---\ntitle: [unclosed\n---\n\nBody survives.\n"
    note = parse_note(text, "bad.md")
    assert note.frontmatter == {}
    assert note.title == "bad"
    assert len(note.warnings) == 1 and "bad.md" in str(note.warnings[0])
    assert "malformed YAML" in note.warnings[0].message
    assert [(c.text, c.line_start) for c in chunk_markdown(text, "bad.md")] == [
        ("Body survives.", 5)
    ]


def test_unclosed_frontmatter_is_body_with_warning():
    text = "---\ntitle: x\n\nStill here.\n"
    note = parse_note(text, "open.md")
    assert note.frontmatter == {}
    assert "never closed" in note.warnings[0].message
    assert "Still here." in chunk_markdown(text, "open.md")[0].text


def test_frontmatter_that_is_not_a_mapping():
    note = parse_note("---\n- a\n- b\n---\nbody\n", "list.md")
    assert note.frontmatter == {}
    assert "not a mapping" in note.warnings[0].message


# --- reading files -----------------------------------------------------------------------


def test_bom_and_crlf(tmp_path):
    (tmp_path / "bom.md").write_bytes("\ufeff---\r\ntitle: T\r\n---\r\n# H\r\ntext\r\n".encode())
    note, chunks = load_note(tmp_path, "bom.md")
    assert note.title == "T" and not note.warnings
    assert summary(chunks) == [("section", ("H",), "text")]
    assert chunks[0].line_start == 4


def test_invalid_utf8_is_replaced_with_warning(tmp_path):
    (tmp_path / "bad.md").write_bytes("naïve ".encode() + b"caf\xe9 au lait\n")
    note, chunks = load_note(tmp_path, "bad.md")
    assert chunks[0].text == "naïve caf\ufffd au lait"
    assert "invalid UTF-8" in note.warnings[0].message and note.warnings[0].path == "bad.md"


def test_bytes_that_are_not_utf8_are_windows_1252(tmp_path):
    (tmp_path / "latin.md").write_bytes(b"caf\xe9 au lait \x93x\x94 \x81\n")
    note, chunks = load_note(tmp_path, "latin.md")
    assert chunks[0].text == "café au lait “x” \x81"  # undefined in cp1252: Latin-1
    assert len(note.warnings) == 1 and note.warnings[0].path == "latin.md"
    assert "read as Windows-1252" in note.warnings[0].message


def test_empty_file(tmp_path):
    (tmp_path / "empty.md").write_bytes(b"")
    note, chunks = load_note(tmp_path, "empty.md")
    assert chunks == [] and note.title == "empty" and not note.warnings


def test_binary_and_huge_files_are_skipped(tmp_path):
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(NoteError, match="binary"):
        load_note(tmp_path, "image.md")
    (tmp_path / "big.md").write_text("word " * 1000)
    with pytest.raises(NoteError, match="size cap") as info:
        load_note(tmp_path, "big.md", max_bytes=1000)
    assert info.value.path == "big.md"


def test_missing_file_is_a_note_error(tmp_path):
    with pytest.raises(NoteError, match="cannot read"):
        load_note(tmp_path, "gone.md")


# --- headings ----------------------------------------------------------------------------


def test_atx_and_setext_headings_all_levels():
    text = md(
        """
        Setext one
        ==========
        a

        Setext two
        ----------
        b
        ### three
        c
        #### four
        d
        ##### five
        e
        ###### six
        f
        """
    )
    chunks = chunk_markdown(text, "h.md")
    assert summary(chunks) == [
        ("section", ("Setext one",), "a"),
        ("section", ("Setext one", "Setext two"), "b"),
        ("section", ("Setext one", "Setext two", "three"), "c"),
        ("section", ("Setext one", "Setext two", "three", "four"), "d"),
        ("section", ("Setext one", "Setext two", "three", "four", "five"), "e"),
        ("section", ("Setext one", "Setext two", "three", "four", "five", "six"), "f"),
    ]
    assert [c.line_start for c in chunks] == [1, 5, 8, 10, 12, 14]


def test_heading_with_links_emphasis_code_and_timestamp():
    text = md(
        """
        ## The [[rust_notes|Borrow]] *checker* `&mut` <a data-t="00:01:05">[00:01:05]</a>
        Body text.
        """
    )
    (chunk,) = chunk_markdown(text, "h.md")
    assert chunk.heading_path == ("The Borrow checker &mut",)
    assert chunk.links == ("rust_notes",)
    assert chunk.timestamps == (Timestamp(65, 0),)
    assert chunk.slug == "the-borrow-checker-mut"
    # Obsidian links a heading by its source, link targets and markup included (issue 17).
    assert chunk.anchor == (
        'The rust_notes Borrow *checker* `&mut` <a data-t="00 01 05">[00 01 05]</a>'
    )


def test_repeated_headings_get_distinct_anchors():
    text = md(
        """
        # Part A
        ## Notes
        one
        # Part B
        ## Notes
        two
        """
    )
    chunks = chunk_markdown(text, "r.md")
    assert [c.heading_path for c in chunks] == [("Part A", "Notes"), ("Part B", "Notes")]
    assert [c.slug for c in chunks] == ["notes", "notes-1"]
    assert [c.anchor for c in chunks] == ["Part A#Notes", "Part B#Notes"]


def test_heading_without_text_yields_no_chunk():
    text = "# Top\n## Middle\n### Leaf\nleaf text\n"
    assert summary(chunk_markdown(text, "e.md")) == [
        ("section", ("Top", "Middle", "Leaf"), "leaf text")
    ]


def test_headings_inside_code_fences_do_not_split():
    text = md(
        """
        ## Real
        ```powershell
        ## not a heading
        Get-Item [[-Name] <String>]
        ```
        """
    )
    (chunk,) = chunk_markdown(text, "c.md")
    assert chunk.heading_path == ("Real",)
    assert chunk.text == "## not a heading\nGet-Item [[-Name] <String>]"
    assert chunk.links == ()


# --- callouts ----------------------------------------------------------------------------


def test_callout_with_title_is_its_own_chunk():
    text = md(
        """
        ## Section
        Before.

        > [!info] Key *idea*
        > Callout body.

        After.
        """
    )
    chunks = chunk_markdown(text, "c.md")
    assert summary(chunks) == [
        ("section", ("Section",), "Before.\nAfter."),
        ("callout", ("Section",), "Callout body."),
    ]
    callout = chunks[1]
    assert (callout.callout_type, callout.callout_title) == ("info", "Key idea")
    assert (callout.line_start, callout.line_end) == (4, 5)
    assert callout.slug == "section"


@pytest.mark.parametrize(
    ("first_line", "kind", "title"),
    [
        ("> [!NOTE]", "note", None),
        (">[!NOTE]", "note", None),
        ("> [!tip]- Folded", "tip", "Folded"),
        ("> [!FAQ]+ Open question?", "faq", "Open question?"),
        ("> [!Warning]", "warning", None),
    ],
)
def test_callout_marker_variants(first_line, kind, title):
    (chunk,) = chunk_markdown(f"{first_line}\n> body line\n", "c.md")
    assert (chunk.kind, chunk.callout_type, chunk.callout_title, chunk.text) == (
        "callout", kind, title, "body line"
    )


def test_plain_blockquote_is_section_text():
    (chunk,) = chunk_markdown("> just a quote\n", "q.md")
    assert (chunk.kind, chunk.text) == ("intro", "just a quote")


def test_multi_paragraph_and_nested_callouts():
    text = md(
        """
        > [!info] Outer
        > first para
        >
        > second para
        > > [!warning] Inner
        > > inner text
        """
    )
    chunks = chunk_markdown(text, "n.md")
    assert [(c.callout_type, c.callout_title, c.text) for c in chunks] == [
        ("info", "Outer", "first para\nsecond para"),
        ("warning", "Inner", "inner text"),
    ]
    assert [(c.line_start, c.line_end) for c in chunks] == [(1, 6), (5, 6)]


def test_callout_in_list_item():
    text = md(
        """
        ## Steps
        - first step
          > [!tip] Hint
          > hint text
        - second step
        """
    )
    chunks = chunk_markdown(text, "l.md")
    assert summary(chunks) == [
        ("section", ("Steps",), "first step\nsecond step"),
        ("callout", ("Steps",), "hint text"),
    ]


def test_title_only_callout_is_kept_and_empty_one_dropped():
    chunks = chunk_markdown("> [!info] Only a title\n\n> [!note]\n", "t.md")
    assert [(c.callout_type, c.callout_title, c.text) for c in chunks] == [
        ("info", "Only a title", "")
    ]


# --- wiki-links --------------------------------------------------------------------------


def test_wikilink_forms():
    text = (
        "See [[Target]], [[target_note|the label]], [[ spaced | nice label ]], "
        "[[Note#Heading]], [[Note#^block1]] and ![[diagram.png]].\n"
    )
    (chunk,) = chunk_markdown(text, "w.md")
    assert chunk.text == (
        "See Target, the label, nice label, Note Heading, Note and."
    )
    assert chunk.links == (
        "Target", "target_note", "spaced", "Note#Heading", "Note#^block1", "diagram.png"
    )


def test_wikilink_with_escaped_pipe_in_table():
    text = "| a | b |\n|---|---|\n| [[note\\|label]] | x |\n"
    (chunk,) = chunk_markdown(text, "t.md")
    assert chunk.text == "a\tb\nlabel\tx"
    assert chunk.links == ("note",)


# --- timestamps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("01:19:03", 4743), ("12:34", 754), ("3647", 3647), ("02:02:22:00", 7342),
        ("[01:00]", 60), ("N/A", None), ("", None), ("1:2:3:4:5", None), ("-5", None),
    ],
)
def test_parse_timestamp(value, seconds):
    assert parse_timestamp(value) == seconds


def test_timestamp_forms_and_offsets():
    text = (
        'Alpha <a class="yt-timestamp" data-t="01:19:03">[01:19:03]</a> beta '
        '<a class="yt-timestamp" data-t="12:34">12:34</a> gamma '
        '[<a class="yt-timestamp" data-t="3647">01:00:47</a>] delta '
        '<a class="yt-timestamp" data-t="02:02:22:00">[02:02:22]</a> eps '
        '<a class="yt-timestamp" data-t="N/A">[N/A]</a> zeta [00:42:10] eta\n'
    )
    (chunk,) = chunk_markdown(text, "t.md")
    assert [t.seconds for t in chunk.timestamps] == [4743, 754, 3647, 7342, 2530]
    for stamp, word in zip(chunk.timestamps, ["beta", "gamma", "delta", "eps", "eta"], strict=True):
        assert chunk.text[stamp.offset :].lstrip(" []").startswith(word)
    assert "01:19:03" not in chunk.text and "N/A" in chunk.text


def test_youtube_link_with_time_is_a_timestamp():
    (chunk,) = chunk_markdown("Point [1:05](https://youtu.be/Kx3mP9vLq2E?t=65) here.\n", "y.md")
    assert chunk.timestamps == (Timestamp(65, 6),)
    assert chunk.text == "Point here."


# --- text cleanup ------------------------------------------------------------------------


def test_html_entities_emphasis_links_lists_tables_code():
    text = md(
        """
        Some **bold**, _italic_, ~~struck~~ and a [link](https://example.com).<br/>Tom &amp; Jerry

        - item one
        - item `code`

        1. first

        | h1 | h2 |
        |----|----|
        | c1 | c2 |

        ```python
        print("kept")
        ```

        <div class="x">Raw <b>html</b> &lt;3</div>
        """
    )
    (chunk,) = chunk_markdown(text, "x.md")
    assert chunk.text == (
        "Some bold, italic, struck and a link.\nTom & Jerry\nitem one\nitem code\nfirst\n"
        'h1\th2\nc1\tc2\nprint("kept")\nRaw html <3'
    )


def test_long_section_is_split_at_paragraphs_with_same_heading():
    paragraph = ("Lorem ipsum dolor sit amet consectetur. " * 12).strip()
    text = "## Long\n\n" + "\n\n".join(f"P{i} {paragraph}" for i in range(8)) + "\n"
    chunks = chunk_markdown(text, "long.md")
    assert len(chunks) > 1
    assert all(c.heading_path == ("Long",) and c.kind == "section" for c in chunks)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
    assert "\n".join(c.text for c in chunks).count("P") == 8
    assert chunks[0].line_start == 1
    assert chunks[1].line_start == chunks[0].line_end + 2
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_ids_and_order():
    text = "intro\n## A\na\n> [!note]\n> n\n\nmore a\n## B\nb\n"
    chunks = chunk_markdown(text, "dir/o.md")
    assert [c.id for c in chunks] == [f"dir/o.md#{i}" for i in range(4)]
    assert [c.kind for c in chunks] == ["intro", "section", "callout", "section"]
    assert [c.line_start for c in chunks] == sorted(c.line_start for c in chunks)


# --- link density (hub notes) ------------------------------------------------------------


def test_link_chars_count_link_labels_not_prose():
    text = md(
        """
        # Episodes
        - [[ep_one | First episode]]
        - [[ep_two]]
        - [Third](third.md)

        # Notes
        Prose with one [[ep_one | link]] inside a longer sentence about sleep.
        """
    )
    hub, prose = chunk_markdown(text, "hub.md")
    assert hub.text == "First episode\nep_two\nThird"
    assert hub.link_chars == len("First episode") + len("ep_two") + len("Third")
    assert prose.link_chars == len("link")


def test_timestamp_links_are_not_link_text():
    text = md(
        """
        # Talk
        Sleep matters [01:02](https://youtu.be/abc?t=62) a lot.
        """
    )
    (chunk,) = chunk_markdown(text, "t.md")
    assert chunk.link_chars == 0
    assert [t.seconds for t in chunk.timestamps] == [62]


# --- text the chunker must not leave behind ----------------------------------------------


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("Play [[target | **Gaming**]] now.", "Play Gaming now."),
        ("Play [[t|*x*]] now.", "Play x now."),
        ("Play [[t|`code`]] now.", "Play code now."),
        ("Play [[t | _a_ and **b**]] now.", "Play a and b now."),
        ("See [[t | [source]]].", "See [source]."),
        ("See [[t | `async]]` then.", "See async then."),
    ],
)
def test_wikilink_label_with_markup_is_plain_label(source, text):
    (chunk,) = chunk_markdown(source + "\n", "w.md")
    assert chunk.text == text
    assert chunk.links == ("t" if "target" not in source else "target",)
    label = text.split(" ", 1)[1].rsplit(" ", 1)[0].rstrip(".")
    assert chunk.link_chars == len(label.replace(" ", ""))  # label characters, not spaces


def test_same_note_links_are_links_not_tags():
    text = "Go to [[#Deep Sleep]], [[Note#Heading]] or [[#^block1]]. Real #tag here.\n"
    note = parse_note(text, "s.md")
    (chunk,) = chunk_markdown(text, "s.md")
    assert chunk.text == "Go to Deep Sleep, Note Heading or. Real #tag here."
    assert chunk.links == ("#Deep Sleep", "Note#Heading", "#^block1")
    assert chunk.tags == ("tag",) and note.tags == ()


@pytest.mark.parametrize(
    ("anchor", "seconds"),
    [
        ('<a class="yt="yt-timestamp" data-t="00:09:01">[00:09:01]</a>', 541),
        ('<a class="yt-timestamp" data-t="00:09:01]</a>', 541),
        ('<a class="yt-timestamp" data-t="00:09:01]-[00:09:05]</a>', 541),
        ('<a class="yt-timestamp" data=t="00:09:01">[00:09:01]</a>', 541),
        ('\\<a class="yt-timestamp" data-t="00:09:01">[00:09:01]</a>', 541),
        ('<a class="yt-timestamp" data-58:21">[58:21]</a>', 3501),
    ],
)
def test_malformed_timestamp_anchors_are_removed(anchor, seconds):
    (chunk,) = chunk_markdown(f"Servers moved {anchor}. Next point.\n", "a.md")
    assert chunk.text == "Servers moved. Next point."
    assert [t.seconds for t in chunk.timestamps] == [seconds]
    assert chunk.timestamps[0].offset == len("Servers moved")


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("text ([00:01:02], [00:03:04])", "text"),
        ("text ([00:01:02], [00:03:04]).", "text."),
        ('Sun (<a class="yt-timestamp" data-t="00:16:10">[00:16:10]</a>) burns.', "Sun burns."),
        ("a [00:01:02], [00:01:05], [00:01:09], b", "a, b"),
        ("end [00:01:02], [00:01:05].", "end."),
        ("keep f() and (a, b) and x,, y [1]", "keep f() and (a, b) and x,, y [1]"),
        ("call f([00:01:02]) now", "call f now"),
    ],
)
def test_stripped_timestamps_leave_no_empty_brackets_or_separators(source, text):
    (chunk,) = chunk_markdown(source + "\n", "t.md")
    assert chunk.text == text


def test_broken_links_and_stray_markers_leave_no_markup():
    text = md(
        """
        Hydration [[hydration_note|. Avoid snacking.
        Nicotine [[brain | ([00:36:57])].
        Learning focus]] ([00:01:02]).
        Keep [string[]] and a[i[j]].

        [!INFO] Not a callout
        Text after.

        | stat | meaning | x |
        |---|---|---|
        | z | sample [[mean_note | mean]] |
        """
    )
    (chunk,) = chunk_markdown(text, "b.md")
    assert chunk.text == (
        "Hydration. Avoid snacking.\nNicotine.\nLearning focus.\nKeep [string[]] and a[i[j]].\n"
        "Not a callout\nText after.\nstat\tmeaning\tx\nz\tsample mean"
    )
    assert chunk.links == ("mean_note",)


def test_media_embeds_are_not_text_but_note_embeds_are():
    text = "## ![[danger_icon.png|30]] Danger Zone\nSee ![[chart.svg]] and ![[Other note]].\n"
    (chunk,) = chunk_markdown(text, "m.md")
    assert chunk.heading_path == ("Danger Zone",)
    assert chunk.text == "See and Other note."
    assert chunk.links == ("danger_icon.png", "chart.svg", "Other note")


def test_heading_that_links_a_video_gives_its_section_that_video():
    text = md(
        """
        ---
        videoId: NOTEVIDEO01
        ---
        # Channel
        Intro of the channel.
        ### [RWKV: RNNs Strike Back](https://www.youtube.com/watch?v=ZDHE119dFR8)
        - [[rwkv_notes | Notes on RWKV]]
        > [!tip] Watch first
        > the architecture part
        ### [Second talk](https://youtu.be/abcdefghijk?t=90)
        - [[second | Second notes]]
        """
    )
    chunks = chunk_markdown(text, "hub.md")
    videos = {(c.heading_path[-1] if c.heading_path else None, c.kind): c.video_id for c in chunks}
    assert videos[("Channel", "section")] == "NOTEVIDEO01"
    assert videos[("RWKV: RNNs Strike Back", "section")] == "ZDHE119dFR8"
    assert videos[("RWKV: RNNs Strike Back", "callout")] == "ZDHE119dFR8"
    second = next(c for c in chunks if c.heading_path[-1] == "Second talk")
    assert second.video_id == "abcdefghijk" and [t.seconds for t in second.timestamps] == [90]


# --- nesting past markdown-it's limit (issue 23) ---------------------------------------

DEEP = """\
# Deep

Intro about owls.

{markers}deep text

After the list, a paragraph.

## Later

- a list kept as a list
  - with a zeppelin inside
"""


@pytest.mark.parametrize("n", [30, 50, 500])
def test_inline_list_markers_past_the_limit_keep_the_rest_of_the_note(tmp_path, n):
    """50 markers used to drop the whole note (the `## Later` section too) while the
    warning said "indexed as flat text"; 30 stayed within the limit."""
    from click.testing import CliRunner

    from searchkit.surfaces.cli import main

    (tmp_path / "deep.md").write_text(DEEP.format(markers="- " * n))
    result = CliRunner().invoke(main, ["chunks", str(tmp_path / "deep.md"), "--vault",
                                       str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(c["heading_path"], c["text"]) for c in chunks] == [
        (["Deep"], "Intro about owls.\ndeep text\nAfter the list, a paragraph."),
        (["Deep", "Later"], "a list kept as a list\nwith a zeppelin inside"),
    ]
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    if n == 30:
        assert warned == []
    else:  # true: line 5 alone was flattened, `## Later` kept its structure
        assert warned == ["warning: deep.md: nested deeper than 100 levels (lists, quotes): "
                          "line 5 indexed as flat text"]


def load_note_text(text: str, path: str = "n.md"):
    from searchkit.ingest.chunker import split_note

    return split_note(parse_note(text, path))


def test_nesting_past_the_limit_flattens_only_the_block_that_holds_it():
    text = ("# T\n\n" + "".join("  " * i + f"- level{i}\n" for i in range(60))
            + "\n## After\n\n> a quote\n> > nested zeppelin\n")
    note, chunks = load_note_text(text)
    body = "\n".join(c.text for c in chunks)
    assert all(f"level{i}" in body for i in range(60)) and "zeppelin" in body
    assert [w.message for w in note.warnings] == [
        "nested deeper than 100 levels (lists, quotes): lines 3–62 indexed as flat text"]
    assert summary(chunks)[-1] == ("section", ("T", "After"), "a quote\nnested zeppelin")


def test_a_note_of_unclosed_brackets_chunks_fast_and_keeps_its_text():
    """Issue 23, item 2: 80 kB of `[` took 11 s in markdown-it's link-label scan. Past
    MAX_UNCLOSED_BRACKETS they are escaped first (linear); the text is what it was."""
    import time

    from searchkit.ingest import chunker

    body = "intro words\n\n" + "[" * 80_000 + " tail words\n\n```\n[ [ [\n```\n"
    start = time.perf_counter()
    chunks = chunker.chunk_markdown(body, "brackets.md")
    assert time.perf_counter() - start < 5  # ~0.25 s; 11 s before
    text = "\n".join(c.text for c in chunks)
    assert "intro words" in text and "tail words" in text and "[ [ [" in text
    assert "\\[" not in text
    # Below the parser's slow range, the escaping changes nothing.
    for small in ("x [[wiki]] " + "[a " * 400 + "]\n\n## H\ntail [w] [[link]] [x](http://e.c)",
                  "```\n" + "[ " * 400 + "\n```\nafter [[a]] [b] " + "[ " * 300):
        escaped = [(c.text, c.line_start, c.line_end)
                   for c in chunker.chunk_markdown(small, "s.md")]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(chunker, "MAX_UNCLOSED_BRACKETS", 10**9)
            plain = [(c.text, c.line_start, c.line_end)
                     for c in chunker.chunk_markdown(small, "s.md")]
        assert escaped == plain
