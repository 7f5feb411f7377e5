// The searchkit search page (docs/page.md). No framework, no HTML sinks: every node is
// built with createElement/textContent (the Content-Security-Policy enforces Trusted
// Types, so an innerHTML assignment would throw). It talks to /status, /search and /read
// with the bearer token when the server wants one.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "searchkit-token";
  const MODES = { hybrid: "hybrid", lexical: "lexical", semantic: "semantic",
                  words: "lexical", meaning: "semantic" };
  const FILTERS = ["tag", "path", "after", "before"];
  const DATES = ["after", "before"];
  const LIMIT = 10;
  const DEBOUNCE_MS = 200;
  const state = { obsidian: false, data: null, sel: -1, seq: 0, ctrl: null, timer: 0,
                  offset: 0, ready: false };

  class Unauthorized extends Error {}

  // -- the token: from the URL fragment (never sent to the server), kept per tab -------
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
  }
  function setToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage off: the token lasts as long as the page */ }
    memoryToken = value;
  }
  let memoryToken = "";
  function currentToken() { return token() || memoryToken; }
  function takeFragmentToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    let value = m[1];
    try { value = decodeURIComponent(value); } catch { /* as written */ }
    setToken(value);
    // Out of the address bar, the history and any bookmark.
    history.replaceState(null, "", location.pathname + location.search);
  }

  async function api(route, params, signal) {
    const url = route + (params ? "?" + params.toString() : "");
    const headers = { Accept: "application/json" };
    const t = currentToken();
    if (t) headers.Authorization = "Bearer " + t;
    const resp = await fetch(url, { headers, signal, cache: "no-store", credentials: "omit" });
    let data = null;
    try { data = await resp.json(); } catch { data = null; }
    if (resp.status === 401) throw new Unauthorized((data && data.error) || "a token is required");
    if (!resp.ok) throw new Error((data && data.error) || `HTTP ${resp.status}`);
    return data;
  }

  // -- small DOM helpers -----------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function safeHref(url) {
    if (!url) return null;
    try {
      const u = new URL(url, location.href);
      return ["http:", "https:", "obsidian:"].includes(u.protocol) ? u.href : null;
    } catch { return null; }
  }
  function link(text, href, cls) {
    const a = el("a", cls, text);
    const safe = safeHref(href);
    if (safe) a.href = safe;
    return a;
  }
  function show(node, on) { node.hidden = !on; }

  // `snippet_marked` is searchkit's own HTML-escaped text with <mark>…</mark>: split it on
  // the two tags and unescape the text between them, never parsing it as HTML.
  const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  function unescapeHtml(s) {
    return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, e) => {
      if (e[0] === "#") {
        const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[e.toLowerCase()] ?? whole;
    });
  }
  function appendMarked(node, marked) {
    let inMark = false;
    for (const part of String(marked || "").split(/(<mark>|<\/mark>)/)) {
      if (part === "<mark>") { inMark = true; continue; }
      if (part === "</mark>") { inMark = false; continue; }
      if (!part) continue;
      const text = unescapeHtml(part);
      node.append(inMark ? el("mark", null, text) : text);
    }
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }
  function videoId(url) {
    try {
      const u = new URL(url);
      let id = u.searchParams.get("v");
      if (!id && u.hostname === "youtu.be") id = u.pathname.slice(1);
      return /^[A-Za-z0-9_-]{6,20}$/.test(id || "") ? id : null;
    } catch { return null; }
  }
  function crumbs(r) {
    let heads = (r.heading_path || []).slice();
    if (heads.length && heads[0].trim().toLowerCase() === String(r.title).trim().toLowerCase()) {
      heads = heads.slice(1);
    }
    const out = [r.title, ...heads];
    if (r.kind === "callout" && r.callout_type) {
      out.push(`[!${r.callout_type}]` + (r.callout_title ? " " + r.callout_title : ""));
    }
    return out;
  }
  function readHref(path, line, start) {
    const p = new URLSearchParams({ read: path, line: String(line || 1) });
    if (start) p.set("start", String(start));
    return "/?" + p.toString();
  }
  function openHref(r) {
    return state.obsidian && r.links && r.links.obsidian ? r.links.obsidian : readHref(r.path, r.line);
  }

  // -- the query and its options, in the form and in the URL -------------------------------
  function readUrl() {
    const p = new URLSearchParams(location.search);
    $("q").value = p.get("q") || "";
    const mode = MODES[p.get("mode")] || "hybrid";
    for (const radio of document.querySelectorAll("input[name=mode]")) radio.checked = radio.value === mode;
    for (const k of FILTERS) $(k).value = p.get(k) || "";
    if (FILTERS.some((k) => p.get(k))) $("filters").open = true;
    state.offset = Math.max(0, parseInt(p.get("offset") || "0", 10) || 0);
    return p;
  }
  function options() {
    const checked = document.querySelector("input[name=mode]:checked");
    const o = { q: $("q").value.trim(), mode: checked ? checked.value : "hybrid" };
    for (const k of FILTERS) {
      const v = $(k).value.trim();
      // A date half typed is not sent (the API takes YYYY, YYYY-MM or YYYY-MM-DD).
      if (v && (!DATES.includes(k) || /^\d{4}(-\d{2}(-\d{2})?)?$/.test(v))) o[k] = v;
    }
    return o;
  }
  function writeUrl(o, offset) {
    const p = new URLSearchParams();
    if (o.q) p.set("q", o.q);
    if (o.mode !== "hybrid") p.set("mode", o.mode);
    for (const k of FILTERS) if (o[k]) p.set(k, o[k]);
    if (offset) p.set("offset", String(offset));
    const s = p.toString();
    history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
  }

  // -- searching -------------------------------------------------------------------------
  function later() {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => search(0), DEBOUNCE_MS);
  }

  async function search(offset) {
    clearTimeout(state.timer);
    leaveReader();
    const o = options();
    state.offset = offset;
    writeUrl(o, offset);
    if (state.ctrl) state.ctrl.abort();
    state.ctrl = null;
    const seq = ++state.seq;
    if (!o.q) { render(null); return; }
    const ctrl = (state.ctrl = new AbortController());
    const params = new URLSearchParams({ q: o.q, mode: o.mode, limit: String(LIMIT), offset: String(offset) });
    for (const k of FILTERS) if (o[k]) params.set(k, o[k]);
    document.body.classList.add("busy");
    try {
      const data = await api("/search", params, ctrl.signal);
      if (seq === state.seq) render(data);
    } catch (e) {
      if (seq !== state.seq || e.name === "AbortError") return;
      if (e instanceof Unauthorized) showLogin(true);
      else { render(null); showError(e.message); }
    } finally {
      if (seq === state.seq) document.body.classList.remove("busy");
    }
  }

  function showError(message) {
    $("error").textContent = message;
    show($("error"), !!message);
  }

  function render(data) {
    state.data = data;
    state.sel = -1;
    const list = $("results");
    list.replaceChildren();
    for (const id of ["notice", "suggestion", "coverage", "error", "pager"]) show($(id), false);
    document.body.dataset.state = data ? "results" : "idle";
    if (!data) return;
    list.start = data.offset + 1;

    const notes = (data.corrected || []).map(([word, fixed]) =>
      `No '${word}' in the notes: also searched for '${fixed}'.`);
    const results = data.results || [];
    if (!results.length) {
      if (data.offset && data.total) notes.push(`Nothing at offset ${data.offset}: the results end before that.`);
      else if ((data.empty_filters || []).length) notes.push(`No passage matches ${data.empty_filters.join(", ")}.`);
      else notes.push(`No passages match '${data.query}'.`);
    }
    if (notes.length) { $("notice").textContent = notes.join(" "); show($("notice"), true); }

    if (data.suggestion) {
      const p = $("suggestion");
      p.replaceChildren("Did you mean ");
      const a = link(data.suggestion, "?" + new URLSearchParams({ q: data.suggestion }).toString(), "suggest");
      a.addEventListener("click", (e) => { e.preventDefault(); $("q").value = data.suggestion; search(0); });
      p.append(a, "?");
      show(p, true);
    }

    const sem = data.semantic;
    if (sem && typeof sem.share === "number" && sem.share < 1) {
      const pct = Math.floor(sem.share * 100);
      $("coverage").textContent = `Search by meaning covers ${sem.embedded} of ${sem.passages} passages `
        + `(${pct} %) while vectors are being made; the rest are found by their words.`;
      show($("coverage"), true);
    }

    results.forEach((r, i) => list.append(item(r, i)));
    renderCount(data, results.length);
  }

  function item(r, i) {
    const li = el("li", "result");
    li.tabIndex = -1;
    li.dataset.index = String(i);
    const body = el("div", "body");
    const h = el("h2");
    h.append(link(crumbs(r).join(" › "), openHref(r), "open"));
    body.append(h);
    const snippet = el("p", "snippet");
    appendMarked(snippet, r.snippet_marked);
    body.append(snippet);
    const meta = el("p", "meta");
    meta.append(el("span", "loc", `${r.path}:${r.line}`));
    if (state.obsidian) meta.append(link("read here", readHref(r.path, r.line), "read"));
    const video = r.links && r.links.video;
    if (video) {
      meta.append(link(r.timestamp != null ? `▶ ${clock(r.timestamp)}` : "▶ video", video, "video"));
    }
    if (r.also_in && r.also_in.length) meta.append(el("span", "also", "also in " + r.also_in.join(", ")));
    if (r.tags && r.tags.length) meta.append(el("span", "tags", r.tags.map((t) => "#" + t).join(" ")));
    body.append(meta);
    li.append(body);
    const id = video && videoId(video);
    if (id) {
      const a = link("", video, "thumb");
      a.tabIndex = -1;
      const img = document.createElement("img");
      img.alt = "";
      img.width = 160;
      img.height = 90;
      img.loading = "lazy";
      img.referrerPolicy = "no-referrer";
      img.addEventListener("error", () => a.remove());
      img.src = `https://i.ytimg.com/vi/${id}/mqdefault.jpg`;
      a.append(img);
      li.append(a);
    }
    li.addEventListener("click", () => select(i, false));
    return li;
  }

  function renderCount(data, shown) {
    const nav = $("pager");
    if (!shown) { show(nav, false); return; }
    const first = data.offset + 1, last = data.offset + shown;
    const span = last > first ? `${first}–${last}` : `${first}`;
    const n = (x) => Number(x).toLocaleString("en");
    let text, more;
    if (data.available != null) {
      text = `${span} of ${n(data.available)} result${data.available === 1 ? "" : "s"}`;
      if (data.total !== data.available) text += ` (${n(data.total)} matching passages, capped per note)`;
      more = data.available > last;
    } else {
      text = `${span} of ${data.total_exact ? "" : "at least "}${n(data.total)} matching passages`;
      more = data.total > last;
    }
    $("count").textContent = text;
    $("prev").disabled = data.offset <= 0;
    $("next").disabled = !more;
    show(nav, true);
  }

  // -- keyboard --------------------------------------------------------------------------
  function items() { return Array.from($("results").children); }
  function select(i, focus = true) {
    const all = items();
    all.forEach((li, j) => li.classList.toggle("selected", j === i));
    state.sel = i;
    if (i >= 0 && all[i] && focus) {
      all[i].focus({ preventScroll: true });
      all[i].scrollIntoView({ block: "nearest" });
    }
  }
  function openSelected() {
    const li = items()[state.sel];
    const a = li && li.querySelector("a.open");
    if (a && a.href) location.assign(a.href);
  }
  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || document.body.classList.contains("locked")) return;
    const t = e.target;
    const inField = t instanceof HTMLElement && t.matches("input, textarea, select");
    const box = $("q");
    if (e.key === "/" && !inField) {
      e.preventDefault();
      box.focus();
      box.select();
      return;
    }
    if (!$("reader").hidden) {
      if (e.key === "Escape" && !inField) history.back();
      return;
    }
    const n = items().length;
    if (e.key === "ArrowDown" && n && (!inField || t === box)) {
      e.preventDefault();
      select(Math.min(state.sel + 1, n - 1));
    } else if (e.key === "ArrowUp" && n && !inField) {
      e.preventDefault();
      if (state.sel <= 0) { select(-1); box.focus(); } else select(state.sel - 1);
    } else if (e.key === "Enter" && state.sel >= 0 && !inField) {
      e.preventDefault();
      openSelected();
    } else if (e.key === "Escape" && !inField) {
      select(-1);
      box.focus();
    }
  }

  // -- reading a note (the `/read` view, for vaults Obsidian does not open) ---------------
  function leaveReader() {
    if ($("reader").hidden) return;
    show($("reader"), false);
    document.body.classList.remove("reading");
  }
  async function showReader(path, line, start) {
    document.body.classList.add("reading");
    for (const id of ["notice", "suggestion", "coverage", "error", "pager"]) show($(id), false);
    $("results").replaceChildren();
    show($("reader"), true);
    const first = start || Math.max(1, line - 5);
    $("reader-path").textContent = path;
    try {
      const data = await api("/read", new URLSearchParams({ path, start: String(first), lines: "80" }));
      $("reader-path").textContent = `${data.path} · lines ${data.start}–${data.end} of ${data.total_lines}`;
      const ol = $("lines");
      ol.replaceChildren();
      ol.start = data.start;
      data.lines.forEach((text, k) => {
        const li = el("li", data.start + k === line ? "hit" : null, text || " ");
        ol.append(li);
      });
      const hit = ol.querySelector(".hit");
      if (hit) hit.scrollIntoView({ block: "center" });
      const more = $("more");
      if (data.next_start) more.href = readHref(path, line, data.next_start);
      show(more, !!data.next_start);
    } catch (e) {
      if (e instanceof Unauthorized) showLogin(true);
      else showError(e.message);
    }
  }

  // -- the token prompt --------------------------------------------------------------------
  function showLogin(refused) {
    document.body.classList.add("locked");
    show($("login"), true);
    const err = $("login-error");
    err.textContent = refused && currentToken() ? "That token was refused." : "";
    show(err, !!err.textContent);
    $("token").focus();
  }

  async function boot() {
    try {
      const status = await api("/status");
      state.obsidian = !!(status && status.obsidian);
    } catch (e) {
      if (e instanceof Unauthorized) { showLogin(true); return; }
      showError(e.message);  // no index yet, say: searching will say so again
    }
    document.body.classList.remove("locked");
    show($("login"), false);
    state.ready = true;
    const p = new URLSearchParams(location.search);
    if (p.get("read")) {
      const line = parseInt(p.get("line") || "1", 10) || 1;
      await showReader(p.get("read"), line, parseInt(p.get("start") || "0", 10) || 0);
    } else if ($("q").value.trim()) {
      await search(state.offset);
    }
  }

  function start() {
    takeFragmentToken();
    readUrl();
    document.addEventListener("keydown", onKey);
    $("search").addEventListener("submit", (e) => { e.preventDefault(); search(0); });
    $("q").addEventListener("input", later);
    for (const radio of document.querySelectorAll("input[name=mode]")) {
      radio.addEventListener("change", () => search(0));
    }
    for (const k of FILTERS) $(k).addEventListener("input", later);
    $("prev").addEventListener("click", () => search(Math.max(0, state.offset - LIMIT)));
    $("next").addEventListener("click", () => search(state.offset + LIMIT));
    $("back").addEventListener("click", (e) => {
      if (document.referrer.startsWith(location.origin + "/") && history.length > 1) {
        e.preventDefault();
        history.back();
      }
    });
    $("login").addEventListener("submit", (e) => {
      e.preventDefault();
      setToken($("token").value.trim());
      $("token").value = "";
      boot();
    });
    boot();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
