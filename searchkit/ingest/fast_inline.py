"""markdown-it's inline pass, made cheaper without changing a token (issue 24).

The inline pass was a quarter of a build's CPU. Two things in it do work that cannot
change the result:

- **Every rule at every stop.** At each character that ends a run of text, markdown-it
  calls each inline rule in turn, and each one but the right one looks at the character
  and returns False. Each rule starts with exactly that check, so `tokenize` here calls
  only the rules that can start at that character, in the same order.
- **Links that cannot be.** At every `[` (a wiki-link has two) the link rule scans for the
  label's `]` through everything in between (`parseLinkLabel`, calling every rule on
  every character), then finds no `(` after it and no reference definitions in the note,
  and fails. A link needs a `](` after its `[` or a reference definition: without either,
  the link and image rules fail at once.

Both are checked against the stock parser on every note of the dev vaults
(`scripts/bench/check_inline.py`) and by the chunker tests. Any rule set other than the
one known here (a plugin, another markdown-it version's rules) keeps the stock pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# The characters each inline rule can start at: the first thing each rule checks.
TRIGGERS = {
    "newline": "\n",
    "escape": "\\",
    "backticks": "`",
    "strikethrough": "~",
    "emphasis": "*_",
    "link": "[",
    "image": "!",
    "autolink": "<",
    "html_inline": "<",
    "entity": "&",
}


def _no_link_ahead(rule: Callable[[Any, bool], bool], opener: str) -> Callable[[Any, bool], bool]:
    def fast(state: Any, silent: bool) -> bool:
        src, pos = state.src, state.pos
        if src[pos] != opener:
            return False
        # No `](` ahead and no reference definitions: the rule would scan the label for
        # nothing (parseLinkLabel's only lasting effect is its position cache).
        if not state.env.get("references") and src.find("](", pos, state.posMax) < 0:
            return False
        return rule(state, silent)

    return fast


def speed_up(md: MarkdownIt) -> MarkdownIt:
    """Install the cheaper inline pass on `md`, if its inline rules are the known ones."""
    from markdown_it.rules_inline.state_inline import StateInline

    ruler = md.inline.ruler
    rules = [r for r in getattr(ruler, "__rules__", ()) if r.enabled]
    names = [r.name for r in rules]
    if not names or names[0] != "text" or not set(names[1:]) <= TRIGGERS.keys():
        return md
    if len(set(names)) != len(names):
        return md
    for name, opener in (("link", "["), ("image", "!")):
        if name in names:
            ruler.at(name, _no_link_ahead(next(r.fn for r in rules if r.name == name), opener))
    rules = [r for r in ruler.__rules__ if r.enabled]
    text_rule = rules[0].fn
    table: dict[str, list[Callable[[Any, bool], bool]]] = {}
    for rule in rules[1:]:
        for char in TRIGGERS[rule.name]:
            table.setdefault(char, []).append(rule.fn)
    only_text = [text_rule]
    max_nesting = md.options["maxNesting"]
    appends = hasattr(StateInline, "append_pending")

    def tokenize(state: Any) -> None:
        # markdown-it-py's ParserInline.tokenize, with the rules looked up by character.
        # Every character a rule starts at ends a text run (markdown-it's terminators), so
        # where a rule can start, the text rule would return False: it is left out there.
        end = state.posMax
        src = state.src
        get = table.get
        while state.pos < end:
            pos = state.pos
            ok = False
            if state.level < max_nesting:
                for rule in get(src[pos], only_text):
                    ok = rule(state, False)
                    if ok:
                        if state.pos <= pos:
                            raise RuntimeError("inline rule didn't increment state.pos")
                        break
            if ok:
                if state.pos >= end:
                    break
                continue
            if appends:
                state.append_pending(src[state.pos])
            else:
                state.pending += src[state.pos]
            state.pos += 1
        if state.pending:
            state.pushPending()

    terminators = getattr(md.inline, "terminator_re", None)
    if terminators is not None and any(
        not terminators.match(c) for chars in TRIGGERS.values() for c in chars
    ):
        return md  # a trigger that does not end a text run: the text rule must go first
    md.inline.tokenize = tokenize  # type: ignore[method-assign]
    return md
