from searchkit.ingest.slugs import slugify
from searchkit.retrieve.links import (
    Links,
    file_link,
    make_links,
    obsidian_link,
    video_link,
    web_link,
)


def test_slugify_kept_for_the_chunker():
    assert slugify("Mechanisms of Recovery!") == "mechanisms-of-recovery"


def test_file_link_with_and_without_line():
    assert file_link("notes/a b.md", 12) == "notes/a b.md:12"
    assert file_link("notes/a.md", 0) == "notes/a.md"
    assert file_link("notes/a.md", None) == "notes/a.md"


def test_obsidian_link_encodes_spaces_slashes_and_heading():
    url = obsidian_link("My Vault", "Podcasts/Huberman Lab.md", "Sleep#Light & Dark")
    assert url == (
        "obsidian://open?vault=My%20Vault"
        "&file=Podcasts%2FHuberman%20Lab%23Sleep%23Light%20%26%20Dark"
    )


def test_obsidian_link_hash_and_unicode_in_names():
    url = obsidian_link("Vault#1", "C# notes/Café ☕.md", "")
    assert url == "obsidian://open?vault=Vault%231&file=C%23%20notes%2FCaf%C3%A9%20%E2%98%95"
    assert "%23" in url.split("file=")[1]  # the '#' of the name is not a heading separator


def test_obsidian_link_intro_chunk_has_no_heading():
    assert obsidian_link("v", "a.md") == "obsidian://open?vault=v&file=a"


def test_web_link_strips_md_and_encodes_path():
    assert web_link("dir/My Note.md", "my-heading") == "dir/My%20Note#my-heading"
    assert web_link("dir/C# tips.md", "") == "dir/C%23%20tips"
    assert web_link("a.md", "café-au-lait") == "a#caf%C3%A9-au-lait"


def test_video_link_forms():
    assert video_link("RDoVLHaYfgM", 4743) == "https://www.youtube.com/watch?v=RDoVLHaYfgM&t=4743s"
    assert video_link("RDoVLHaYfgM", 0) == "https://www.youtube.com/watch?v=RDoVLHaYfgM&t=0s"
    assert video_link("RDoVLHaYfgM", None) == "https://www.youtube.com/watch?v=RDoVLHaYfgM"
    assert video_link(None, 12) is None
    assert video_link("", 12) is None


def test_make_links_bundles_every_form():
    links = make_links(
        vault="V",
        path="a/b c.md",
        line=7,
        anchor="H1#H2",
        slug="h2",
        video_id="xyz",
        seconds=61,
    )
    assert links == Links(
        file="a/b c.md:7",
        obsidian="obsidian://open?vault=V&file=a%2Fb%20c%23H1%23H2",
        web="a/b%20c#h2",
        video="https://www.youtube.com/watch?v=xyz&t=61s",
    )


# --- timestamp plausibility ----------------------------------------------------------------


def test_minute_second_frame_stamps_are_read_as_minutes_and_seconds():
    from searchkit.ingest.timestamps import MMSS00_FROM_HOURS, parse_timestamp

    assert parse_timestamp("13:02:00") == 13 * 60 + 2  # not 13 hours into a 40-minute video
    assert parse_timestamp("04:05:00") == 4 * 60 + 5
    assert parse_timestamp(f"{MMSS00_FROM_HOURS - 1:02d}:19:00") == 3 * 3600 + 19 * 60
    assert parse_timestamp("13:02:05") == 13 * 3600 + 2 * 60 + 5  # seconds given: h:mm:ss
    assert parse_timestamp("01:19:03") == 4743
    assert parse_timestamp("02:02:22:00") == 7342  # four parts: frames dropped as before
