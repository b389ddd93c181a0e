/* StrataML dashboard. Every string in the payload is repository content and may be hostile:
   it only ever reaches the DOM through textContent, createTextNode or setAttribute on inert
   attributes, and the only hrefs built from it are "#/..." hashes or vetted repository paths.
   Text shows control characters and those that print as nothing escaped (visible()), as the CLI
   does: U+202E in a description would otherwise show the rest of the line reversed, and a
   zero-width space would make two names read alike. */
"use strict";
(function () {
  /* ---------- payload ---------- */
  // The data block is gzip'd JSON in base64 (a tenth of the bytes; no repository string appears
  // in the page as text), inflated by the browser's own DecompressionStream: no library, no load.
  function inflate(block) {
    var wrapper = JSON.parse(block.textContent);
    if (!wrapper || wrapper.encoding !== "gzip+base64") throw new Error("unknown data encoding");
    var bin = atob(wrapper.data), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  // Records leave out their id (the key) and default values; put them back (dashboard.py, expand).
  // Maps keyed by repository text must not answer for keys they do not hold: "constructor" or
  // "__proto__" looked up in a plain object finds Object.prototype's members instead.
  function dict(o) { return Object.assign(Object.create(null), o || {}); }
  function own(o, k) { return o && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined; }
  function expand(D) {
    var recs = D.records = dict(D.records);
    D.tables = dict(D.tables);
    for (var ref in recs) {
      var r = recs[ref];
      r.id = ref;
      if (!r.findings) r.findings = { errors: 0, warnings: 0, infos: 0 };
      if (!r.reported) r.reported = [];
      if (r.kind !== "experiment" && !r.signature) r.signature = { status: "unsigned", signers: [], valid_signers: 0, required_signers: 0 };
      if (r.kind === "model" && !r.history) r.history = [];
    }
    return D;
  }
  function failed(err) {
    var app = document.getElementById("main");
    app.textContent = "";
    var p = document.createElement("p");
    p.textContent = "This page could not read its data (" + String(err && err.message || err) +
      "). It needs a current browser (Chrome/Edge 80+, Firefox 113+, Safari 16.4+); " +
      "`strataml list`, `show` and `lineage` print the same data.";
    app.appendChild(p);
  }
  var data;
  try { data = inflate(document.getElementById("strataml-data")); } catch (err) { failed(err); return; }
  data.then(function (text) {
    var D = expand(JSON.parse(text));
    main(D);
  }).catch(failed);

  function main(D) {
  performance.mark("strataml:parsed");
  var REC = D.records || {};
  var TABLES = D.tables || {};
  var FINDINGS = D.findings || [];
  var WS = D.workspace || {};
  var KINDS = ["datasets", "runs", "models", "experiments"];
  var SINGULAR = { datasets: "dataset", runs: "run", models: "model", experiments: "experiment" };
  var PLURAL = { dataset: "datasets", run: "runs", model: "models", experiment: "experiments" };
  var SVGNS = "http://www.w3.org/2000/svg";
  var ROW_H = 34;
  var MAX_METRIC_COLS = 12;
  var OVERSCAN = 3;
  // Only a run of "../" (or nothing) is a repository prefix we trust; anything else is ignored.
  var REPO = typeof WS.repo_link === "string" && /^(\.\.\/)*$/.test(WS.repo_link) ? WS.repo_link : null;
  // A page over several workspaces (strataml dashboard --federate): every ref is namespaced by its
  // member (team-a/run:ID), and a dataset two members recorded with one digest is one record whose
  // other names (D.aliases) lead to it. A plain page has neither and draws exactly as before.
  var MEMBERS = Array.isArray(D.workspaces) ? D.workspaces.filter(function (m) { return m && typeof m === "object"; }) : null;
  var FED = MEMBERS !== null;
  var ALIASES = dict(FED && D.aliases && typeof D.aliases === "object" ? D.aliases : null);
  var HERE = FED ? "in these workspaces" : "in this workspace";

  /* ---------- DOM helpers ---------- */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function sv(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag);
    if (attrs) setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function setAttrs(el, attrs) {
    for (var k in attrs) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") el.textContent = visible(String(v));
      else if (k === "title") el.setAttribute("title", visible(String(v)));
      else if (k === "cls") el.setAttribute("class", v);
      else if (k === "tid") el.setAttribute("data-testid", v);
      else if (k === "href") el.setAttribute("href", safeHref(v));
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { for (var i = 0; i < c.length; i++) add(el, c[i]); return; }
    // A value the repository typed wrongly (a mapping where text belongs) is shown as text too.
    el.appendChild(typeof c === "object" ? (c.nodeType ? c : document.createTextNode(visible(fmtVal(c)))) : document.createTextNode(visible(String(c))));
  }
  // C0 and C1 controls but tab and newline, and the characters that print as nothing but for
  // the joiners (strataml.controls.HIDDEN: bidi controls, zero-width spaces, tag characters), so
  // that two names that differ by one are seen to differ; spelled as the CLI spells them.
  var UNSHOWABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u17b4-\u17b5\u180b-\u180f\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb\u{110bd}\u{110cd}\u{13430}-\u{1343f}\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}]/gu;
  function visible(s) {
    UNSHOWABLE.lastIndex = 0;
    if (!UNSHOWABLE.test(s)) return s;
    return s.replace(UNSHOWABLE, function (c) {
      var n = c.codePointAt(0);
      if (n < 0x80) return "\\x" + ("0" + n.toString(16)).slice(-2);
      if (n > 0xffff) return "\\U" + ("0000000" + n.toString(16)).slice(-8);
      return "\\u" + ("000" + n.toString(16)).slice(-4);
    });
  }
  // Last line of defence: every href goes through here, so a slip elsewhere cannot make a script URL.
  function safeHref(v) {
    v = String(v);
    if (v.slice(0, 2) === "#/" || v === "#") return v;
    if (REPO !== null && v.slice(0, REPO.length) === REPO && vettedPath(v.slice(REPO.length))) return v;
    return "#/";
  }
  function vettedPath(p) {
    if (typeof p !== "string" || !p || p[0] === "/" || p.indexOf("..") >= 0 || p.indexOf("\\") >= 0) return false;
    if (/[\u0000-\u001f\u007f]/.test(p)) return false;
    var slash = p.indexOf("/"), colon = p.indexOf(":");
    return !(colon >= 0 && (slash < 0 || colon < slash));
  }
  // A record's file: both the record folder and the file path must pass on their own.
  function fileHref(rec, path) {
    if (!vettedPath(path) || (rec.path && !vettedPath(rec.path))) return null;
    return repoHref((rec.path ? rec.path + "/" : "") + path);
  }
  // A repository file opened from file:// runs its own code if the browser takes it for a page
  // (HTML, SVG, XHTML, or an unknown extension it sniffs): only images and text formats are
  // linked, every other file is listed.
  var INERT = /\.(png|jpe?g|gif|webp|avif|bmp|txt|csv|tsv|json|jsonl|ya?ml|md|log)$/i;
  function repoHref(path) {
    if (REPO === null || !vettedPath(path) || !INERT.test(path)) return null;
    return REPO + encodeURI(path).replace(/[?#]/g, encodeURIComponent);
  }
  function enc(s) { return encodeURIComponent(String(s)).replace(/%40/g, "@").replace(/%3A/g, ":"); }
  function refHash(ref) {
    var p = parseRef(ref);
    // team-a/run:ID -> #/run/team-a/ID (dispatch reads it back with hashRef).
    if (PLURAL[p.kind]) return "#/" + p.kind + "/" + (p.ws ? enc(p.ws) + "/" : "") + enc(p.name);
    return "#/record/" + enc(ref);
  }
  function lineageHash(ref, depth, dir) {
    var q = [];
    if (depth && depth !== 2) q.push("depth=" + depth);
    if (dir && dir !== "both") q.push("dir=" + dir);
    return "#/lineage/" + enc(ref) + (q.length ? "?" + q.join("&") : "");
  }
  function refLink(ref, label) {
    var to = canon(ref);
    if (!REC[to]) return h("span", { cls: "mono", title: FED ? "not in these workspaces" : "not in this workspace" }, label || ref);
    return h("a", { href: refHash(to), cls: "mono" }, label || ref);
  }
  // The workspace a record comes from, as a small tag beside its name (nothing on a plain page).
  function wsTag(ref) {
    if (!FED) return null;
    var w = recWs(ref);
    return w ? h("span", { cls: "wstag", title: "workspace " + w }, w) : null;
  }
  function section(title, tid, body, extra) {
    var id = "s-" + title.toLowerCase().replace(/[^a-z]+/g, "-");
    return h("section", { cls: "card", tid: tid, "aria-labelledby": id }, h("h2", { id: id }, title, extra || null), body);
  }
  function table(headers, rows, cls) {
    var thead = h("thead", null, h("tr", null, headers.map(function (x) { return h("th", { scope: "col" }, x); })));
    return h("div", { cls: "tscroll" }, h("table", { cls: "data " + (cls || "") }, thead, h("tbody", null, rows)));
  }
  function badge(text, kind) { return h("span", { cls: "badge " + (kind || "") }, text); }
  function empty(text) { return h("p", { cls: "muted" }, text); }

  /* ---------- formatting ---------- */
  function fmtNum(v) {
    if (typeof v !== "number" || !isFinite(v)) return v === null || v === undefined ? "—" : String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(3);
    return String(parseFloat(v.toFixed(4)));
  }
  function fmtVal(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") return fmtNum(v);
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function fmtTime(s) {
    if (typeof s !== "string") return "—";
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(s);
    return m ? m[1] + " " + m[2] : s;
  }
  function fmtSize(n) {
    if (typeof n !== "number") return "—";
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + u[i];
  }
  function shortSha(s) {
    if (typeof s !== "string") return "—";
    var p = s.indexOf(":");
    return p >= 0 && p < 10 ? s.slice(0, p + 1) + s.slice(p + 1, p + 13) : s.slice(0, 12);
  }
  function plural(n, w) { return n + " " + w + (n === 1 ? "" : "s"); }
  function healthBucket(hs) {
    hs = String(hs || "");
    if (hs.indexOf("error") >= 0) return "errors";
    if (hs.indexOf("warning") >= 0) return "warnings";
    return "ok";
  }
  function healthBadge(hs) {
    var b = healthBucket(hs);
    var icon = b === "errors" ? "✕ " : b === "warnings" ? "! " : "✓ ";
    return h("span", { cls: "health h-" + b }, icon + (hs || "ok"));
  }
  function recHealth(rec) {
    var f = (rec && rec.findings) || {};
    if (f.errors) return plural(f.errors, "error");
    if (f.warnings) return plural(f.warnings, "warning");
    return "ok";
  }
  // A ref is KIND:NAME; on a federated page WORKSPACE/KIND:NAME (a member name holds no "/" or
  // ":", a record name no "/"): the kind is what comes before the first ":", after the last "/".
  function parseRef(ref) {
    var s = String(ref), c = s.indexOf(":");
    var head = c >= 0 ? s.slice(0, c) : s.slice(0, -1), sl = FED ? head.lastIndexOf("/") : -1;
    return { ws: sl >= 0 ? head.slice(0, sl) : "", kind: head.slice(sl + 1), name: s.slice(c + 1) };
  }
  function refKind(ref) { return parseRef(ref).kind; }
  function refShort(ref) { return parseRef(ref).name; }
  function refWs(ref) { return parseRef(ref).ws; }
  // Where a record lives: its own `workspace`, else the namespace of its ref.
  function recWs(ref) {
    var r = REC[canon(ref)], w = r && typeof r.workspace === "string" ? r.workspace : "";
    return w || refWs(ref);
  }
  // The name a list shows: team-a/iris@1 on a federated page (two members may share a name), iris@1 otherwise.
  function nameOf(ref) { var p = parseRef(ref); return (p.ws ? p.ws + "/" : "") + p.name; }
  // A joined dataset's other name (team-b/dataset:iris@1) -> its record's id; anything else unchanged.
  function canon(ref) { var c = own(ALIASES, ref); return typeof c === "string" && REC[c] ? c : ref; }
  // A table row's experiment, as a ref (rows carry the bare name and, federated, their workspace).
  function expRefOf(row) { return (FED && row.workspace ? row.workspace + "/" : "") + "experiment:" + row.experiment; }
  // Lower is better for metrics named like a loss or an error; everything else is higher-is-better.
  // Whole name parts only: "ece" is lower-is-better, "recent_accuracy" is not.
  function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  /* ---------- routing ---------- */
  function parseHash(hash) {
    var raw = String(hash || "").replace(/^#/, "");
    var qi = raw.indexOf("?");
    var path = qi >= 0 ? raw.slice(0, qi) : raw;
    var qs = qi >= 0 ? raw.slice(qi + 1) : "";
    var q = Object.create(null);
    qs.split("&").forEach(function (kv) {
      if (!kv) return;
      var e = kv.indexOf("=");
      var k = dec(e >= 0 ? kv.slice(0, e) : kv);
      q[k] = e >= 0 ? kv.slice(e + 1) : "";
    });
    path = path.replace(/^\/+/, "");
    var slash = path.indexOf("/");
    return { head: dec(slash >= 0 ? path.slice(0, slash) : path), rest: slash >= 0 ? dec(path.slice(slash + 1)) : "", q: q };
  }
  function dec(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }
  function qget(q, k) { return q[k] === undefined ? "" : dec(q[k]); }
  function qlist(q, k) {
    if (!q[k]) return [];
    return q[k].split(",").map(dec).filter(function (x) { return x !== ""; });
  }
  function buildQuery(obj) {
    var parts = [];
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (v === "" || v === null || v === undefined || (Array.isArray(v) && !v.length)) return;
      parts.push(encodeURIComponent(k) + "=" + (Array.isArray(v) ? v.map(enc).join(",") : enc(v)));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }
  function go(hash) { if (location.hash !== hash) location.hash = hash; else render(); }

  var cleanup = null;
  var navCount = 0;
  function render() {
    if (cleanup) { try { cleanup(); } catch (e) { /* a view's teardown must not block the next */ } cleanup = null; }
    var r = parseHash(location.hash);
    var view;
    try { view = dispatch(r); } catch (e) {
      view = notFound("This view could not be drawn: " + (e && e.message ? e.message : e));
      if (window.console) console.info("strataml:", e);
    }
    var main = document.getElementById("main");
    main.replaceChildren(view);
    markNav(r.head);
    var h1 = view.querySelector("h1");
    var name = visible(String(WS.name || "StrataML"));
    document.title = (h1 && h1.textContent !== name ? h1.textContent + " · " : "") + name;
    if (navCount++ > 0) {
      window.scrollTo(0, 0);
      var focusEl = view.querySelector("[data-autofocus]") || h1;
      if (focusEl && !main.contains(document.activeElement)) {
        if (focusEl === h1) h1.setAttribute("tabindex", "-1");
        focusEl.focus({ preventScroll: true });
      }
    }
    if (view._after) view._after();
    reachable(main);
  }
  // A table wider than the screen scrolls sideways: one with nothing to focus in it gets a tab
  // stop of its own, named by its section, or a keyboard could not scroll it (a gate receipt's
  // PASS/FAIL column on a phone). Others get none: each is one more Tab on the way to the rows.
  function reachable(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".tscroll"), function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.querySelector("a[href], button, input, select, textarea, [tabindex]:not([tabindex=\"-1\"])")) {
        var section = box.closest("section");
        var heading = section ? section.querySelector("h2") : null;
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", (heading ? heading.textContent + ": " : "") + "table, scrolls sideways");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  window.addEventListener("resize", function () { var main = document.getElementById("main"); if (main) reachable(main); });
  function dispatch(r) {
    var head = r.head;
    if (head === "" ) return overview();
    if (TABLES[head] !== undefined || KINDS.indexOf(head) >= 0) return tableView(head, r.q);
    if (PLURAL[head]) return recordView(hashRef(head, r.rest));
    if (head === "record") return recordView(r.rest);
    if (head === "lineage") return r.rest ? lineageView(r.rest, r.q) : lineageOverview();
    if (head === "compare") return compareView(r.q);
    if (head === "rules") return r.rest ? ruleView(r.rest) : rulesView(r.q);
    return notFound("There is no view called “" + clip(head, 80) + "”.");
  }
  // #/KIND/REST -> a ref. Federated, REST is WORKSPACE/NAME (as refHash writes it) or
  // WORKSPACE/KIND:NAME (the ref itself, as pasted); a plain page's REST is the name, whatever it holds.
  function hashRef(kind, rest) {
    var sl = FED ? rest.indexOf("/") : -1;
    if (sl < 0) return kind + ":" + rest;
    var ws = rest.slice(0, sl), tail = rest.slice(sl + 1), ref = ws + "/" + kind + ":" + tail;
    if (tail.slice(0, kind.length + 1) === kind + ":" && !REC[resolve(ref)]) return ws + "/" + tail;
    return ref;
  }
  function markNav(head) {
    var map = { dataset: "datasets", run: "runs", model: "models", experiment: "experiments", rules: "rules", lineage: "lineage" };
    var cur = map[head] || head;
    var links = document.querySelectorAll("#nav a");
    for (var i = 0; i < links.length; i++) {
      var k = links[i].getAttribute("data-nav");
      if (k === cur) links[i].setAttribute("aria-current", "page"); else links[i].removeAttribute("aria-current");
    }
  }

  /* ---------- search strings (built once, lazily) ---------- */
  function descOf(ref) {
    var r = REC[ref];
    var d = r && r.attrs && r.attrs.description;
    return typeof d === "string" ? d : "";
  }
  function tagText(tags) {
    var s = "";
    if (tags && typeof tags === "object") for (var k in tags) s += " " + k + "=" + fmtVal(tags[k]);
    return s;
  }
  function rowText(row) {
    return (String(row.id) + " " + (row.name || "") + " " + descOf(row.id) + tagText(row.tags)).toLowerCase();
  }
  var globalIndex = null;
  function globalSearchIndex() {
    if (globalIndex) return globalIndex;
    globalIndex = [];
    KINDS.forEach(function (k) {
      (TABLES[k] || []).forEach(function (row) {
        globalIndex.push({ ref: row.id, name: String(row.name || "").toLowerCase(), text: rowText(row), row: row, kind: k });
      });
    });
    return globalIndex;
  }
  function terms(q) { return String(q).toLowerCase().split(/\s+/).filter(Boolean); }
  function matchAll(text, ts) {
    for (var i = 0; i < ts.length; i++) if (text.indexOf(ts[i]) < 0) return false;
    return true;
  }
  function searchAll(q, limit) {
    var ts = terms(q);
    if (!ts.length) return [];
    var idx = globalSearchIndex(), best = [[], [], []];
    for (var i = 0; i < idx.length; i++) {
      var e = idx[i];
      if (!matchAll(e.text, ts)) continue;
      var tier = e.name.indexOf(ts[0]) === 0 ? 0 : e.ref.toLowerCase().indexOf(ts[0]) >= 0 ? 1 : 2;
      if (best[tier].length < limit) best[tier].push(e);
    }
    return best[0].concat(best[1], best[2]).slice(0, limit);
  }

  /* ---------- graph ---------- */
  var adj = null;
  function graph() {
    if (adj) return adj;
    adj = { up: Object.create(null), down: Object.create(null) };
    // [other end, kind, crosses workspaces]: a federated edge between two members has a 4th item, true.
    (D.edges || []).forEach(function (e) {
      var x = e[3] === true;
      (adj.down[e[0]] || (adj.down[e[0]] = [])).push([e[1], e[2], x]);
      (adj.up[e[1]] || (adj.up[e[1]] = [])).push([e[0], e[2], x]);
    });
    return adj;
  }

  /* ---------- header / global search ---------- */
  function buildChrome() {
    var nav = [["", "Overview"], ["datasets", "Datasets"], ["runs", "Runs"], ["models", "Models"],
      ["experiments", "Experiments"], ["lineage", "Lineage"], ["rules", "Rules"]];
    document.getElementById("brand").textContent = visible(String(WS.name || "StrataML"));
    // The skip link must not change the hash: "#main" would be read as a route.
    document.getElementById("skip").addEventListener("click", function (ev) { ev.preventDefault(); document.getElementById("main").focus(); });
    var ul = document.getElementById("nav-list");
    ul.replaceChildren();
    nav.forEach(function (n) {
      ul.appendChild(h("li", null, h("a", { href: "#/" + n[0], "data-nav": n[0] }, n[1])));
    });
    var input = document.getElementById("search");
    var box = document.getElementById("search-results");
    var results = [];
    function show() {
      var q = input.value;
      results = q.trim() ? searchAll(q, 12) : [];
      box.replaceChildren();
      if (!q.trim()) { box.hidden = true; return; }
      if (!results.length) box.appendChild(h("p", { cls: "muted sr-pad" }, "No record matches."));
      results.forEach(function (e, i) {
        box.appendChild(h("a", {
          href: refHash(e.ref), tid: "search-result", "data-ref": e.ref, cls: "sresult", id: "sr-" + i,
          onclick: function () { close(); }
        }, h("span", { cls: "kind k-" + SINGULAR[e.kind] }, SINGULAR[e.kind]),
        h("span", { cls: "sname" }, FED && recWs(e.ref) ? h("span", { cls: "sws" }, recWs(e.ref) + " / ") : null, refShort(e.ref)),
        descOf(e.ref) ? h("span", { cls: "sdesc" }, clip(descOf(e.ref), 90)) : null));
      });
      box.hidden = false;

    }
    function close() { box.hidden = true; }
    input.addEventListener("input", show);
    input.addEventListener("focus", function () { if (input.value.trim()) show(); });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        if (results.length) { ev.preventDefault(); var r = results[0].ref; input.value = ""; close(); go(refHash(r)); }
      } else if (ev.key === "Escape") { input.value = ""; close(); }
      else if (ev.key === "ArrowDown" && results.length) { ev.preventDefault(); box.querySelector("a").focus(); }
    });
    box.addEventListener("keydown", function (ev) {
      var items = Array.prototype.slice.call(box.querySelectorAll("a"));
      var i = items.indexOf(document.activeElement);
      if (ev.key === "ArrowDown" && i < items.length - 1) { ev.preventDefault(); items[i + 1].focus(); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); (i > 0 ? items[i - 1] : input).focus(); }
      else if (ev.key === "Escape") { close(); input.focus(); }
    });
    document.addEventListener("click", function (ev) {
      if (!box.contains(ev.target) && ev.target !== input) close();
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var t = ev.target, tag = t && t.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
      ev.preventDefault();
      input.focus();
      input.select();
    });
  }

  /* ---------- overview ---------- */
  function overview() {
    var v = h("div", { tid: "view-overview", cls: "view" });
    var commit = WS.commit ? String(WS.commit).slice(0, 10) : "no commit";
    var hl = D.health || {};
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", null, WS.name || "Workspace"),
      h("p", { cls: "muted meta" }, FED ? "One page over " + plural(MEMBERS.length, "workspace") : h("span", { cls: "mono", title: WS.commit || "" }, commit),
        " · strataml " + (WS.tool || "?"), WS.generated_at ? " · generated " + fmtTime(WS.generated_at) + " UTC" : null)));
    if (FED) {
      v.appendChild(workspacesSection());
      v.appendChild(productionSection());
    }

    var cards = h("div", { cls: "stats" });
    KINDS.forEach(function (k) {
      var n = (D.counts || {})[k];
      if (n === undefined) n = (TABLES[k] || []).length;
      cards.appendChild(h("a", { href: "#/" + k, cls: "stat" }, h("span", { cls: "num" }, String(n)), h("span", { cls: "lbl" }, k)));
    });
    [["errors", "h-errors", "✕", "error"], ["warnings", "h-warnings", "!", "warning"], ["infos", "h-infos", "i", "info"]].forEach(function (x) {
      // Each count opens its findings (the rule catalogue alone left them to be found rule by rule).
      cards.appendChild(h("a", { href: "#/rules" + buildQuery({ severity: x[3] }), cls: "stat " + (hl[x[0]] ? x[1] : "") },
        h("span", { cls: "num" }, String(hl[x[0]] || 0)), h("span", { cls: "lbl" }, x[2] + " " + x[0])));
    });
    v.appendChild(h("section", { cls: "bare", "aria-label": "Counts" }, cards));

    var grid = h("div", { cls: "grid2" });
    v.appendChild(grid);
    var bc = hl.by_contract || [];
    grid.appendChild(section("Health by contract", "health", bc.length ? table(["Contract", "Errors", "Warnings", "Infos"], bc.map(function (c) {
      return h("tr", null, h("td", null, h("a", { href: "#/rules" + buildQuery({ contract: c.contract }) }, c.contract)),
        h("td", { cls: "num" + (c.errors ? " t-err" : "") }, String(c.errors || 0)),
        h("td", { cls: "num" + (c.warnings ? " t-warn" : "") }, String(c.warnings || 0)),
        h("td", { cls: "num" }, String(c.infos || 0)));
    })) : h("p", { cls: "ok-line" }, "✓ No findings: every record passes every contract.")));

    // Production and staging models with the metrics their gates checked.
    var models = (TABLES.models || []).filter(function (m) { return m.state === "production" || m.state === "staging"; });
    models.sort(function (a, b) { return a.state === b.state ? (a.id < b.id ? -1 : 1) : a.state === "production" ? -1 : 1; });
    // Every model version by its state, in lifecycle order: "3 models: 1 in production · 1 candidate · 1 archived"
    // (it read "1 model archived · 1 model production").
    var states = Object.create(null), allModels = TABLES.models || [];
    allModels.forEach(function (m) { var s = typeof m.state === "string" ? m.state : ""; states[s] = (states[s] || 0) + 1; });
    var ORDER = ["production", "staging", "candidate", "registered", "rejected", "archived"];
    var rank = function (s) { var i = ORDER.indexOf(s); return i < 0 ? ORDER.length : i; };
    var stateWords = function (s, n) {
      if (s === "production" || s === "staging") return n + " in " + s;
      if (s === "candidate") return plural(n, "candidate");
      return n + " " + (s || "with no state");
    };
    var stateLine = h("p", { cls: "muted" }, allModels.length ? plural(allModels.length, "model") + ": " + Object.keys(states).sort(function (a, b) {
      return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
    }).map(function (s) { return stateWords(s, states[s]); }).join(" · ") : "No models.");
    // With each model's health: a production model with errors showed as all green here.
    grid.appendChild(section("Production and staging", "deployed", [stateLine, models.length ? table(["Model", "State", "Health", "Gate", "Gated metrics"], models.slice(0, 50).map(function (m) {
      var rc = (REC[m.id] || {}).receipt;
      var crit = rc && Array.isArray(rc.criteria) ? rc.criteria.map(function (c) {
        return h("span", { cls: "crit " + (c.passed === true ? "pass" : "fail") }, (c.passed === true ? "✓ " : "✕ ") + c.expression + " (" + fmtNum(c.observed) + ")");
      }) : "—";
      return h("tr", null, h("td", null, refLink(m.id, refShort(m.id)), FED ? [" ", wsTag(m.id)] : null), h("td", null, badge(m.state, "st-" + m.state)),
        h("td", null, healthBadge(m.health)), h("td", null, gateBadge(m.gate)), h("td", null, crit));
    })) : empty(FED || (TABLES.models || []).length ? "No model is in production or staging." : "No models yet: a run whose experiment registers one makes it, and `strataml promote` moves it along.")]));

    var runs = (TABLES.runs || []).slice().sort(function (a, b) { return a.created < b.created ? 1 : a.created > b.created ? -1 : 0; }).slice(0, 8);
    grid.appendChild(section("Latest runs", "latest-runs", runs.length ? table(["Run"].concat(FED ? ["Workspace"] : [], ["Experiment", "Status", "Health", "Created"]), runs.map(function (r) {
      return h("tr", null, h("td", null, refLink(r.id, clip(refShort(r.id), 48))), FED ? h("td", { cls: "mono" }, fmtVal(r.workspace)) : null,
        h("td", null, r.experiment ? refLink(expRefOf(r), r.experiment) : "—"),
        h("td", null, statusBadge(r.status)), h("td", null, healthBadge(r.health)), h("td", { cls: "mono nowrap" }, fmtTime(r.created)));
    })) : empty(FED ? "No runs yet." : "No runs yet: `strataml run EXPERIMENT` records one (`strataml experiment new NAME` writes a spec)."),
      h("a", { href: "#/runs", cls: "more" }, "All runs →")));

    var attention = [];
    KINDS.forEach(function (k) {
      (TABLES[k] || []).forEach(function (row) {
        var b = healthBucket(row.health);
        if (b !== "ok") attention.push({ row: row, b: b, n: ((REC[row.id] || {}).findings || {})[b] || 0 });
      });
    });
    attention.sort(function (a, b) { return a.b !== b.b ? (a.b === "errors" ? -1 : 1) : b.n - a.n || (a.row.id < b.row.id ? -1 : 1); });
    grid.appendChild(section("Records needing attention", "attention", attention.length ? [
      table(["Record", "Health"], attention.slice(0, 15).map(function (a) {
        return h("tr", null, h("td", null, refLink(a.row.id)), h("td", null, healthBadge(a.row.health)));
      })),
      attention.length > 15 ? h("p", { cls: "muted" }, "and " + (attention.length - 15) + " more; filter the tables by health.") : null
    ] : h("p", { cls: "ok-line" }, "✓ Every record is healthy.")));

    var un = (hl.unowned || []).map(function (i) { return FINDINGS[i]; }).filter(Boolean);
    if (un.length) v.appendChild(section("Workspace findings (no record)", "unowned", findingsTable(un)));
    return v;
  }
  /* ---------- federation: the workspaces at a glance ---------- */
  var WS_ICON = { fresh: "✓ ", stale: "! ", unverified: "? ", missing: "✕ ", invalid: "✕ " };
  function wsStatus(s) {
    s = typeof s === "string" && s ? s : "unknown";
    return h("span", { cls: "badge wsstatus ws-" + s.replace(/[^a-z]/gi, ""), tid: "ws-status" }, (own(WS_ICON, s) || "") + s);
  }
  function workspacesSection() {
    var fresh = MEMBERS.filter(function (m) { return m.status === "fresh"; }).length;
    var rows = MEMBERS.map(function (m) {
      var name = fmtVal(m.name), c = m.counts && typeof m.counts === "object" ? m.counts : null;
      var hl = m.health && typeof m.health === "object" ? m.health : null;
      var counts = c ? KINDS.map(function (k, i) {
        var n = typeof c[k] === "number" ? c[k] : 0;
        return [i ? " · " : null, h("a", { href: "#/" + k + buildQuery({ "f.workspace": [name] }), tid: "ws-count-" + k, cls: "nowrap",
          title: "The " + k + " table, filtered to " + name }, plural(n, SINGULAR[k]))];
      }) : h("span", { cls: "muted" }, "—");
      var health = hl ? [h("span", { cls: hl.errors ? "t-err" : "" }, plural(hl.errors || 0, "error")), " · ",
        h("span", { cls: hl.warnings ? "t-warn" : "" }, plural(hl.warnings || 0, "warning"))] : h("span", { cls: "muted" }, "—");
      return h("tr", { tid: "ws-row", "data-name": name, "data-status": fmtVal(m.status), cls: m.status === "fresh" ? null : "ws-flag" },
        h("td", null, h("div", { cls: "mono" }, name), h("div", { cls: "muted small wrap" }, "from " + fmtVal(m.source) +
          (typeof m.workspace === "string" && m.workspace ? " · " + m.workspace : ""))),
        h("td", { cls: "wrap" }, wsStatus(m.status), m.message ? h("div", { cls: "wsmsg", tid: "ws-message" }, fmtVal(m.message)) : null),
        h("td", { cls: "wrap" }, counts),
        h("td", { cls: "nowrap" }, health),
        h("td", { cls: "mono", title: (m.commit ? "commit " + m.commit : "") + (m.index_sha256 ? " · index sha256 " + m.index_sha256 : "") },
          typeof m.commit === "string" ? m.commit.slice(0, 10) : "—"),
        h("td", { cls: "nowrap" }, c ? h("a", { href: "#/runs" + buildQuery({ "f.workspace": [name] }), tid: "ws-filter" }, "Its runs →") : "—"));
    });
    return section("Workspaces", "workspaces", rows.length ? table(["Workspace", "Status", "Records", "Health", "Commit", "Tables"], rows) : empty("No workspaces."),
      h("span", { cls: "h2count" }, fresh + " of " + MEMBERS.length + " fresh"));
  }
  function productionSection() {
    var rows = [];
    MEMBERS.forEach(function (m) {
      if (!Array.isArray(m.production)) return; // missing or invalid: listed above, nothing to show
      var name = fmtVal(m.name);
      if (!m.production.length) {
        rows.push(h("tr", { tid: "prod-none", "data-workspace": name }, h("td", { cls: "mono" }, name), h("td", { colspan: "4", cls: "muted" }, "No model in production.")));
        return;
      }
      m.production.forEach(function (p) {
        if (!p || typeof p !== "object") return;
        var metrics = p.metrics && typeof p.metrics === "object" ? p.metrics : {};
        rows.push(h("tr", { tid: "prod-row", "data-ref": fmtVal(p.ref), "data-workspace": name },
          h("td", { cls: "mono" }, name),
          h("td", null, refLink(fmtVal(p.ref), refShort(p.ref))),
          h("td", null, gateBadge(typeof p.gate === "string" ? p.gate : null)),
          h("td", null, signedCell({ signed: typeof p.signature === "string" ? p.signature : null })),
          h("td", { cls: "wrap" }, Object.keys(metrics).sort().map(function (k) {
            return h("span", { cls: "tag", "data-metric": k }, k + " " + fmtNum(metrics[k]));
          }))));
      });
    });
    return section("Production models in every workspace", "production", rows.length ?
      table(["Workspace", "Model", "Gate", "Signature", "Metrics"], rows) : empty("No workspace could be read."));
  }
  function gateBadge(g) {
    if (!g) return h("span", { cls: "muted" }, "—");
    return h("span", { cls: "gate g-" + (g === "PASS" ? "pass" : g === "FAIL" ? "fail" : "other") }, (g === "PASS" ? "✓ " : g === "FAIL" ? "✕ " : "") + g);
  }
  function statusBadge(s) { return s ? h("span", { cls: "badge st-" + String(s).replace(/[^a-z]/gi, "") }, s) : h("span", { cls: "muted" }, "—"); }

  /* ---------- findings ---------- */
  // `owners` (optional): the record each finding is about, shown first (null: the workspace's).
  function findingsTable(list, owners) {
    var rows = list.map(function (f, i) {
      var loc = f.path ? f.path + (f.line !== null && f.line !== undefined ? ":" + f.line : "") : "—";
      var href = f.path ? repoHref(f.path) : null;
      // Federated, a finding's path is its member's own: say which member.
      if (FED && f.workspace) loc = f.workspace + ": " + loc;
      var owner = owners ? h("td", null, owners[i] ? refLink(owners[i]) : FED && f.workspace ? "workspace " + f.workspace : "workspace") : null;
      return h("tr", { tid: "finding", "data-code": f.code }, owner,
        h("td", null, h("span", { cls: "sev sev-" + f.severity }, (f.severity === "error" ? "✕ " : f.severity === "warning" ? "! " : "i ") + f.severity)),
        h("td", { cls: "nowrap" }, h("a", { href: "#/rules/" + enc(f.code), cls: "mono" }, f.code)),
        h("td", { cls: "wrap" }, h("div", null, f.message || ""), f.hint ? h("div", { cls: "hint" }, "Fix: " + f.hint) : null),
        h("td", { cls: "mono wrap" }, href ? h("a", { href: href }, loc) : loc));
    });
    return table((owners ? ["Record"] : []).concat(["Severity", "Rule", "Message", "Where"]), rows, "findings");
  }
  var findingOwner = null;
  function ownerOf(i) {
    if (!findingOwner) {
      findingOwner = Object.create(null);
      for (var ref in REC) (REC[ref].reported || []).forEach(function (j) { findingOwner[j] = ref; });
    }
    return findingOwner[i];
  }

  /* ---------- tables ---------- */
  var COLS = {
    datasets: function () { return [
      col("name", "Name", 220, function (r) { return r.name; }, nameCell),
      col("version", "Ver", 60, function (r) { return verKey(r.version); }, function (r) { return fmtVal(r.version); }),
      col("health", "Health", 120, healthSort, function (r) { return healthBadge(r.health); }),
      col("rows", "Rows", 90, num("rows"), function (r) { return fmtVal(r.rows); }, true),
      col("files", "Files", 64, num("files"), function (r) { return fmtVal(r.files); }, true),
      col("license", "Licence", 120, str("license"), function (r) { return fmtVal(r.license); }),
      col("signed", "Signed", 100, str("signed"), signedCell),
      col("tags", "Tags", 200, function (r) { return tagText(r.tags); }, tagsCell),
      col("created", "Created", 140, str("created"), function (r) { return fmtTime(r.created); })
    ]; },
    runs: function () { return [
      col("name", "Run", 300, function (r) { return r.name; }, nameCell),
      col("experiment", "Experiment", 170, str("experiment"), function (r) { return fmtVal(r.experiment); }),
      col("status", "Status", 110, str("status"), function (r) { return statusBadge(r.status); }),
      col("health", "Health", 120, healthSort, function (r) { return healthBadge(r.health); }),
      col("signed", "Signed", 100, str("signed"), signedCell),
      "metrics",
      col("tags", "Tags", 180, function (r) { return tagText(r.tags); }, tagsCell),
      col("created", "Created", 140, str("created"), function (r) { return fmtTime(r.created); })
    ]; },
    models: function () { return [
      col("name", "Model", 210, function (r) { return r.name; }, nameCell),
      col("version", "Ver", 60, function (r) { return verKey(r.version); }, function (r) { return fmtVal(r.version); }),
      col("state", "State", 110, str("state"), function (r) { return r.state ? badge(r.state, "st-" + r.state) : "—"; }),
      col("gate", "Gate", 90, str("gate"), function (r) { return gateBadge(r.gate); }),
      col("health", "Health", 120, healthSort, function (r) { return healthBadge(r.health); }),
      col("signed", "Signed", 100, str("signed"), signedCell),
      "metrics",
      col("run", "Run", 220, str("run"), function (r) { return fmtVal(r.run); }),
      col("created", "Created", 140, str("created"), function (r) { return fmtTime(r.created); })
    ]; },
    experiments: function () { return [
      col("name", "Experiment", 220, function (r) { return r.name; }, nameCell),
      col("plugin", "Plugin", 100, str("plugin"), function (r) { return fmtVal(r.plugin); }),
      col("model", "Model type", 160, str("model"), function (r) { return fmtVal(r.model); }),
      col("gates", "Gates", 280, function (r) { return (r.gates || []).join("; "); }, function (r) { return (r.gates || []).join("; ") || "—"; }),
      col("runs", "Runs", 70, num("runs"), function (r) { return fmtVal(r.runs); }, true),
      col("health", "Health", 120, healthSort, function (r) { return healthBadge(r.health); }),
      col("tags", "Tags", 200, function (r) { return tagText(r.tags); }, tagsCell)
    ]; }
  };
  function col(key, label, w, get, cell, isNum) { return { key: key, label: label, w: w, get: get, cell: cell, num: !!isNum }; }
  function str(k) { return function (r) { var v = r[k]; return v === null || v === undefined || v === "" ? null : String(v); }; }
  function num(k) { return function (r) { var v = r[k]; return typeof v === "number" ? v : null; }; }
  function verKey(v) { var n = Number(v); return v === null || v === undefined ? null : isFinite(n) ? n : String(v); }
  function healthSort(r) {
    var b = healthBucket(r.health), f = (REC[r.id] || {}).findings || {};
    return b === "errors" ? 2e6 + (f.errors || 0) : b === "warnings" ? 1e6 + (f.warnings || 0) : 0;
  }
  // Only the name cell links (without a focus stop: the row is the keyboard target), so a click
  // anywhere else on a row opens that row, never a neighbour.
  function nameCell(r) {
    var d = descOf(r.id), name = String(r.name || refShort(r.id));
    // The whole name on hover too: a column cuts a run's id before its distinguishing suffix.
    return h("a", { href: refHash(r.id), tabindex: "-1", cls: "rname", title: name + (d ? "\n" + clip(d, 300) : "") }, name);
  }
  // The members a row belongs to: its own, and for a joined dataset every member that recorded it.
  function rowMembers(r) {
    var rec = REC[r.id], out = [r.workspace];
    if (rec && Array.isArray(rec.names)) rec.names.forEach(function (n) { if (n && out.indexOf(n.workspace) < 0) out.push(n.workspace); });
    return out;
  }
  // A joined dataset's row is its canonical member's; the cell says which others recorded it too.
  function wsCell(r) {
    var rec = REC[r.id], others = [];
    if (rec && Array.isArray(rec.names)) rec.names.forEach(function (n) {
      if (n && n.workspace !== r.workspace && others.indexOf(n.workspace) < 0) others.push(fmtVal(n.workspace));
    });
    return h("span", { title: others.length ? "also recorded in " + others.join(", ") : null }, fmtVal(r.workspace),
      others.length ? h("span", { cls: "muted" }, " +" + others.length) : null);
  }
  function signedCell(r) {
    var s = r.signed;
    if (!s) return "—";
    return h("span", { cls: "sig sig-" + String(s).replace(/[^a-z]/gi, "") }, (s === "signed" ? "✓ " : s === "invalid" ? "✕ " : "") + s);
  }
  function tagsCell(r) {
    var t = r.tags || {}, ks = Object.keys(t);
    if (!ks.length) return "—";
    return ks.slice(0, 4).map(function (k) { return h("span", { cls: "tag" }, k + "=" + fmtVal(t[k])); });
  }

  var TBL = Object.create(null);
  // Per-kind caches that outlive a view: search text, facet codes and sorted orders.
  function tableModel(kind) {
    if (TBL[kind]) return TBL[kind];
    var rows = TABLES[kind] || [];
    var m = { kind: kind, rows: rows, text: null, orders: {}, sortVals: {}, facets: null, metricNames: null, picks: new Set() };
    var names = Object.create(null);
    if (kind === "runs" || kind === "models") rows.forEach(function (r) { for (var k in (r.metrics || {})) names[k] = 1; });
    m.metricNames = Object.keys(names).sort();
    m.metricSet = new Set(m.metricNames);
    TBL[kind] = m;
    return m;
  }
  function ensureText(m) {
    if (m.text) return m.text;
    var t = new Array(m.rows.length);
    for (var i = 0; i < m.rows.length; i++) t[i] = rowText(m.rows[i]);
    return (m.text = t);
  }
  function facetDefs(m) {
    if (m.facets) return m.facets;
    var kind = m.kind, defs = [];
    // A joined dataset is every naming member's: its row counts under each of them.
    if (FED) defs.push(["workspace", str("workspace"), rowMembers]);
    if (kind === "runs") defs.push(["status", str("status")], ["experiment", str("experiment")]);
    if (kind === "models") defs.push(["state", str("state")], ["gate", str("gate")], ["experiment", str("experiment")]);
    if (kind === "experiments") defs.push(["plugin", str("plugin")]);
    defs.push(["health", function (r) { return healthBucket(r.health); }]);
    if (kind !== "experiments") defs.push(["signed", str("signed")]);
    var tagCount = Object.create(null);
    m.rows.forEach(function (r) { for (var k in (r.tags || {})) tagCount[k] = (tagCount[k] || 0) + 1; });
    Object.keys(tagCount).sort(function (a, b) { return tagCount[b] - tagCount[a] || (a < b ? -1 : 1); }).slice(0, 8).forEach(function (k) {
      defs.push(["tags." + k, function (r) { var v = own(r.tags, k); return v === undefined || v === null ? null : fmtVal(v); }]);
    });
    m.facets = defs.map(function (d) {
      var vals = [], index = new Map(), code = new Uint32Array(m.rows.length), multi = null;
      function codeOf(v) {
        v = v === null || v === undefined ? "(none)" : String(v);
        var c = index.get(v);
        if (c === undefined) { c = vals.length; vals.push(v); index.set(v, c); }
        return c;
      }
      for (var i = 0; i < m.rows.length; i++) {
        code[i] = codeOf(d[1](m.rows[i]));
        // A facet with a third getter may give a row several values (only then: m.multi[i]).
        var more = d[2] ? d[2](m.rows[i]) : null;
        if (more && more.length > 1) (multi || (multi = new Array(m.rows.length)))[i] = Uint32Array.from(more.map(codeOf));
      }
      return { key: d[0], vals: vals, index: index, code: code, multi: multi };
    });
    return m.facets;
  }
  function columnsFor(m, metrics) {
    var out = [];
    COLS[m.kind]().forEach(function (c, i) {
      // Federated: which member a row comes from, right after its name (two members may share names).
      if (FED && i === 1) out.push(col("workspace", "Workspace", 130, str("workspace"), wsCell));
      if (c !== "metrics") { out.push(c); return; }
      metrics.forEach(function (name) {
        out.push(col(name, name, Math.max(96, Math.min(170, name.length * 8 + 24)), function (r) {
          var v = own(r.metrics, name); return typeof v === "number" ? v : null;
        }, function (r) { var v = own(r.metrics, name); return fmtNum(v === undefined ? null : v); }, true));
      });
    });
    return out;
  }
  function sortedOrder(m, c, desc) {
    var id = c.key + (desc ? ":d" : ":a");
    if (m.orders[id]) return m.orders[id];
    var vals = m.sortVals[c.key];
    if (!vals) {
      vals = new Array(m.rows.length);
      for (var i = 0; i < m.rows.length; i++) vals[i] = c.get(m.rows[i]);
      m.sortVals[c.key] = vals;
    }
    var idx = new Array(m.rows.length);
    for (var j = 0; j < idx.length; j++) idx[j] = j;
    var dir = desc ? -1 : 1;
    idx.sort(function (a, b) {
      var x = vals[a], y = vals[b];
      if (x === y) return a - b;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : a - b) * dir;
    });
    return (m.orders[id] = Int32Array.from(idx));
  }
  var WORD_FACETS = ["status", "state", "gate", "signed", "health"]; // (the API's words: matched whatever their case)
  var YES = ["true", "yes"], NO = ["false", "no"];
  var REF_FACETS = ["experiment"]; // (a row holds the ref's name alone)
  // The values of facet `f` a link's `v` selects, read as list and the API read a filter: a word
  // in any case (status=Failed), signed=true|false (valid signatures, or not), and a ref field by
  // its ref or its name (experiment=experiment:NAME); tags and names match exactly.
  function facetCodes(f, v) {
    var c = f.index.get(v), low = String(v).toLowerCase(), out = [], i;
    if (c !== undefined) return [c];
    if (f.key === "signed" && (YES.indexOf(low) >= 0 || NO.indexOf(low) >= 0)) {
      for (i = 0; i < f.vals.length; i++) if ((f.vals[i] === "signed") === (YES.indexOf(low) >= 0)) out.push(i);
      return out;
    }
    if (WORD_FACETS.indexOf(f.key) >= 0) {
      for (i = 0; i < f.vals.length; i++) if (String(f.vals[i]).toLowerCase() === low) return [i];
      return out;
    }
    if (REF_FACETS.indexOf(f.key) >= 0 && v.indexOf(":") > 0) {
      c = f.index.get(v.slice(v.indexOf(":") + 1));
      if (c !== undefined) return [c];
    }
    return out;
  }
  var DEFAULT_SORT = { datasets: ["name", false], runs: ["created", true], models: ["name", false], experiments: ["name", false] };

  function defaultMetrics(m) {
    var gated = [];
    (TABLES.experiments || []).forEach(function (e) {
      (e.gates || []).forEach(function (g) {
        var name = String(g).split(/[\s<>=!]/)[0];
        if (m.metricNames.indexOf(name) >= 0 && gated.indexOf(name) < 0) gated.push(name);
      });
    });
    gated.sort();
    if (!gated.length) gated = m.metricNames.filter(function (n) { return /^test_/.test(n); });
    if (!gated.length) gated = m.metricNames.slice();
    return gated.slice(0, 3);
  }

  function tableView(kind, q) {
    var m = tableModel(kind);
    var facets = facetDefs(m);
    var st = {
      q: qget(q, "q"),
      sort: qget(q, "sort") || DEFAULT_SORT[kind][0],
      desc: q.sort ? qget(q, "desc") === "1" : DEFAULT_SORT[kind][1],
      // A pasted URL may name any number of metrics: a table shows at most MAX_METRIC_COLS.
      metrics: q.metrics !== undefined ? qlist(q, "metrics").filter(function (n, i, all) { return m.metricSet.has(n) && all.indexOf(n) === i; }).slice(0, MAX_METRIC_COLS) : defaultMetrics(m),
      sel: {},
      missing: {} // a pasted link's values no row has, per facet: kept in the address, said above the table
    };
    if (st.sort && m.metricSet.has(st.sort) && st.metrics.indexOf(st.sort) < 0 && !COLS[kind]().some(function (c) { return c.key === st.sort; })) st.metrics.push(st.sort);
    facets.forEach(function (f) {
      var want = qlist(q, "f." + f.key);
      if (!want.length) { st.sel[f.key] = null; return; }
      var allow = new Uint8Array(f.vals.length), missing = [];
      want.forEach(function (v) {
        var codes = facetCodes(f, v);
        codes.forEach(function (c) { allow[c] = 1; });
        if (!codes.length) missing.push(v);
      });
      // Values no row has select no row: a link to `f.state=production` where none is in
      // production listed every model, as if each matched.
      st.sel[f.key] = allow;
      if (missing.length) st.missing[f.key] = missing;
    });
    var facetKeys = facets.map(function (f) { return "f." + f.key; });
    var asked = Object.keys(q).filter(function (k) { return k.indexOf("f.") === 0 && facetKeys.indexOf(k) < 0; });
    // A tag no facet shows (none has it, or it is not among the most used): filtered all the same,
    // as the API filters it; it was ignored, and every row listed.
    var tagFilters = asked.filter(function (k) { return k.indexOf("f.tags.") === 0 && k.length > 7; }).map(function (k) {
      return { tag: k.slice(7), values: qlist(q, k) };
    }).filter(function (x) { return x.values.length; });
    var notFacets = asked.filter(function (k) { return !(k.indexOf("f.tags.") === 0 && k.length > 7); });
    function tagOf(r, tag) { var v = own(r.tags, tag); return v === undefined || v === null ? "(none)" : fmtVal(v); }
    function tagsPass(r) {
      for (var i = 0; i < tagFilters.length; i++) if (tagFilters[i].values.indexOf(tagOf(r, tagFilters[i].tag)) < 0) return false;
      return true;
    }
    tagFilters.forEach(function (x) {
      if (!m.rows.some(function (r) { return x.values.indexOf(tagOf(r, x.tag)) >= 0; })) st.missing["tags." + x.tag] = x.values;
    });
    var hasMetrics = kind === "runs" || kind === "models";
    var cols, template, totalW;
    var v = h("div", { tid: "view-table", "data-kind": kind, cls: "view tableview" });
    var count = h("span", { tid: "row-count", cls: "count", "aria-live": "polite" });
    var search = h("input", { type: "search", tid: "table-search", "aria-label": "Filter " + kind + " by id, name, description or tags", placeholder: "Filter " + kind + "…", value: st.q, autocomplete: "off", spellcheck: "false" });
    search.value = st.q;
    var compareBtn = hasMetrics ? h("button", { type: "button", tid: "compare", cls: "btn primary", disabled: true }, "Compare") : null;
    var clearPicks = hasMetrics ? h("button", { type: "button", cls: "btn", hidden: true }, "Clear selection") : null;
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", null, kind.charAt(0).toUpperCase() + kind.slice(1)), count));
    var toolbar = h("div", { cls: "toolbar" }, search, compareBtn, clearPicks);
    v.appendChild(toolbar);
    var unknownNote = h("p", { cls: "muted", tid: "unknown-filter" });
    // What the address asks that no row has, or that is no filter: said while it applies (a
    // filter taken off takes its sentence with it, the others stay).
    function renderNote() {
      unknownNote.replaceChildren();
      Object.keys(st.missing).forEach(function (key) {
        unknownNote.appendChild(document.createTextNode("No " + kind.replace(/s$/, "") + " has " + key.replace(/^tags\./, "tag ") + " " +
          st.missing[key].map(function (x) { return "“" + clip(x, 40) + "”"; }).join(" or ") + ". "));
      });
      notFacets.forEach(function (k) { unknownNote.appendChild(document.createTextNode("“" + clip(k.slice(2), 40) + "” is not a filter of " + kind + ". ")); });
      if (!unknownNote.childNodes.length) { if (unknownNote.parentNode) unknownNote.parentNode.removeChild(unknownNote); }
      else if (!unknownNote.parentNode) toolbar.after(unknownNote);
    }
    renderNote();
    // A tag filter no facet shows is said, and can be taken off (it filtered unseen).
    if (tagFilters.length) {
      var chips = h("div", { cls: "toolbar chipsbar", tid: "tag-filters" });
      tagFilters.slice().forEach(function (x) {
        var chip = h("button", { type: "button", cls: "chip on", title: "Remove this filter" }, "tag " + clip(x.tag, 40) + " = " + x.values.map(function (s) { return clip(s, 40); }).join(" or ") + " ✕");
        chip.addEventListener("click", function () {
          tagFilters.splice(tagFilters.indexOf(x), 1);
          delete st.missing["tags." + x.tag];
          chips.removeChild(chip);
          if (!chips.childNodes.length && chips.parentNode) chips.parentNode.removeChild(chips);
          renderNote(); refresh(); syncUrl();
        });
        chips.appendChild(chip);
      });
      v.appendChild(chips);
    }

    var side = h("div", { cls: "facets" });
    var facetPanel = h("details", { cls: "facetpanel" }, h("summary", null, "Filters"), side);
    if (window.matchMedia && window.matchMedia("(min-width: 900px)").matches) facetPanel.open = true;
    var scroller = h("div", { tid: "table", cls: "vscroll", role: "table", "aria-label": kind + " table", tabindex: "-1" });
    var headRow = h("div", { role: "row", cls: "vrow vhead", "aria-rowindex": "1" });
    var headGroup = h("div", { role: "rowgroup", cls: "vheadgroup" }, headRow);
    var body = h("div", { role: "rowgroup", cls: "vbody" });
    scroller.appendChild(headGroup);
    scroller.appendChild(body);
    v.appendChild(h("div", { cls: "tablelayout" }, facetPanel, h("div", { cls: "tablemain" }, scroller,
      h("p", { cls: "muted small" }, "Click a row or press Enter to open it; ↑/↓ move between rows."))));

    var result = new Int32Array(m.rows.length), nres = 0;
    var facetCounts = facets.map(function (f) { return new Uint32Array(f.vals.length); });
    var facetUI = [];

    function syncUrl() {
      var o = { q: st.q };
      if (st.sort !== DEFAULT_SORT[kind][0] || st.desc !== DEFAULT_SORT[kind][1]) { o.sort = st.sort; if (st.desc) o.desc = "1"; }
      facets.forEach(function (f) {
        var a = st.sel[f.key];
        if (a) o["f." + f.key] = f.vals.filter(function (x, i) { return a[i]; }).concat(st.missing[f.key] || []);
      });
      tagFilters.forEach(function (x) { o["f.tags." + x.tag] = x.values; });
      var metricsParam = st.metrics.join(",");
      if (hasMetrics && metricsParam !== defaultMetrics(m).join(",")) o.metrics = st.metrics.length ? st.metrics : "";
      var hash = "#/" + kind + buildQuery(o);
      if (hasMetrics && !st.metrics.length && metricsParam !== defaultMetrics(m).join(",")) hash += (hash.indexOf("?") >= 0 ? "&" : "?") + "metrics=";
      // Only while the address is still this table's: a row opened since the typing paused has
      // set another, which the router draws on its hashchange, and replacing it would undo that.
      var now = parseHash(location.hash);
      if (now.head !== kind || now.rest) return;
      if (location.hash !== hash) history.replaceState(null, "", hash);
    }

    function buildColumns() {
      cols = columnsFor(m, st.metrics);
      if (!cols.some(function (c) { return c.key === st.sort; })) { st.sort = DEFAULT_SORT[kind][0]; st.desc = DEFAULT_SORT[kind][1]; }
      var widths = (hasMetrics ? [40] : []).concat(cols.map(function (c) { return c.w; }));
      totalW = widths.reduce(function (a, b) { return a + b; }, 0);
      template = widths.map(function (w) { return w + "px"; }).join(" ");
      scroller.style.setProperty("--cols", template);
      scroller.style.setProperty("--tw", totalW + "px");
      headRow.replaceChildren();
      if (hasMetrics) headRow.appendChild(h("div", { role: "columnheader", cls: "vcell pickcell" }, h("span", { cls: "sr-only" }, "Select")));
      cols.forEach(function (c) {
        var sorted = c.key === st.sort;
        headRow.appendChild(h("div", { role: "columnheader", cls: "vcell" + (c.num ? " num" : ""), "aria-sort": sorted ? (st.desc ? "descending" : "ascending") : null },
          h("button", { type: "button", tid: "sort-" + c.key, cls: "sortbtn", title: "Sort by " + c.label,
            onclick: function () {
              if (st.sort === c.key) st.desc = !st.desc; else { st.sort = c.key; st.desc = c.num || c.key === "created"; }
              buildColumns(); refresh(); syncUrl();
            } }, c.label, h("span", { cls: "arrow", "aria-hidden": "true" }, sorted ? (st.desc ? " ▼" : " ▲") : ""))));
      });
    }

    function filter() {
      var c = cols.filter(function (x) { return x.key === st.sort; })[0];
      var order = sortedOrder(m, c, st.desc);
      var ts = terms(st.q), text = ts.length ? ensureText(m) : null;
      var active = [], nf = facets.length;
      for (var f = 0; f < nf; f++) { facetCounts[f].fill(0); if (st.sel[facets[f].key]) active.push(f); }
      nres = 0;
      var nt = ts.length, na = active.length;
      var nx = tagFilters.length;
      for (var i = 0, n = order.length; i < n; i++) {
        var r = order[i];
        if (nx && !tagsPass(m.rows[r])) continue;
        if (nt) {
          var s = text[r], ok = true;
          for (var t = 0; t < nt; t++) if (s.indexOf(ts[t]) < 0) { ok = false; break; }
          if (!ok) continue;
        }
        // Count each facet over the rows that pass every *other* facet, so choices stay visible.
        var failed = -1, fails = 0;
        for (var a = 0; a < na; a++) {
          var fi = active[a];
          var fm = facets[fi].multi, allow = st.sel[facets[fi].key];
          if (fm && fm[r] ? !anyOf(allow, fm[r]) : !allow[facets[fi].code[r]]) { fails++; failed = fi; if (fails > 1) break; }
        }
        if (fails === 0) {
          result[nres++] = r;
          for (var g = 0; g < nf; g++) tally(g, r);
        } else if (fails === 1) tally(failed, r);
      }
    }

    function anyOf(allow, codes) {
      for (var i = 0; i < codes.length; i++) if (allow[codes[i]]) return true;
      return false;
    }
    function tally(f, r) {
      var fm = facets[f].multi, codes = fm && fm[r];
      if (!codes) { facetCounts[f][facets[f].code[r]]++; return; }
      for (var i = 0; i < codes.length; i++) facetCounts[f][codes[i]]++;
    }
    function renderFacets() {
      side.replaceChildren();
      facetUI = [];
      facets.forEach(function (f, fi) {
        var sel = st.sel[f.key];
        var order = f.vals.map(function (x, i) { return i; });
        var all = facetCounts[fi];
        order.sort(function (a, b) { return all[b] - all[a] || (f.vals[a] < f.vals[b] ? -1 : 1); });
        // Even "show all" stays bounded: a facet over thousands of names is a search, not a list.
        var limit = f.showAll ? 300 : 10;
        var shown = order.filter(function (i, k) { return k < limit || (sel && sel[i]); });
        if (!f.vals.length) return;
        var fs = h("fieldset", { cls: "facet" }, h("legend", null, f.key.replace(/^tags\./, "tag: ")));
        shown.forEach(function (i) {
          var cb = h("input", { type: "checkbox", tid: "facet-" + f.key + "-" + f.vals[i], "data-facet": f.key, "data-value": f.vals[i] });
          cb.checked = !!(sel && sel[i]);
          var cnt = h("span", { cls: "fcount" }, String(all[i]));
          cb.addEventListener("change", function () {
            var a = st.sel[f.key] || new Uint8Array(f.vals.length);
            a[i] = cb.checked ? 1 : 0;
            delete st.missing[f.key]; // (a choice made here replaces what the link asked for)
            renderNote();
            st.sel[f.key] = a.some(function (x) { return x; }) ? a : null;
            refresh(); syncUrl();
          });
          facetUI.push([fi, i, cnt, cb]);
          fs.appendChild(h("label", { cls: "fopt" + (all[i] ? "" : " zero") }, cb, h("span", { cls: "fval" }, f.vals[i] === "(none)" ? "(none)" : f.vals[i]), cnt));
        });
        if (order.length > limit) fs.appendChild(f.showAll ? h("p", { cls: "muted small" }, (order.length - limit) + " more values; use the filter box.")
          : h("button", { type: "button", cls: "linkbtn", onclick: function () { f.showAll = true; renderFacets(); } }, "Show " + (order.length > 300 ? "300" : "all") + " of " + order.length));
        side.appendChild(fs);
      });
      if (hasMetrics && m.metricNames.length) {
        var ms = h("fieldset", { cls: "facet metricpick" }, h("legend", null, "Metric columns"));
        // Offered: the shown ones, then the first others by name; a run with thousands of metrics
        // does not make thousands of checkboxes (sort or a URL's metrics= reaches the rest).
        var offered = st.metrics.concat(m.metricNames.filter(function (x) { return st.metrics.indexOf(x) < 0; }).slice(0, 60));
        offered.forEach(function (name) {
          var cb = h("input", { type: "checkbox", tid: "metric-" + name });
          cb.checked = st.metrics.indexOf(name) >= 0;
          cb.addEventListener("change", function () {
            var set = new Set(st.metrics);
            if (cb.checked) set.add(name); else set.delete(name);
            st.metrics = m.metricNames.filter(function (x) { return set.has(x); }).slice(0, MAX_METRIC_COLS);
            buildColumns(); rebuildNext = true; refresh(); syncUrl();
          });
          ms.appendChild(h("label", { cls: "fopt" }, cb, h("span", { cls: "fval mono" }, name)));
        });
        if (m.metricNames.length > offered.length) ms.appendChild(h("p", { cls: "muted small" }, (m.metricNames.length - offered.length) + " more metrics; sort by one to show it."));
        side.appendChild(ms);
      }
    }
    function updateFacetCounts() {
      for (var k = 0; k < facetUI.length; k++) {
        var u = facetUI[k], n = facetCounts[u[0]][u[1]];
        var s = String(n);
        if (u[2].textContent !== s) { u[2].textContent = s; u[2].parentNode.classList.toggle("zero", !n); }
      }
    }

    var lastStart = -1, lastEnd = -1, raf = 0;
    // Rows are keyed by (position, record): a keystroke or a scroll only builds the rows that changed,
    // which keeps both the DOM work and the relayout to a handful of rows.
    var drawn = new Map();
    function drawRows(force, rebuild) {
      raf = 0;
      var top = scroller.scrollTop, hgt = scroller.clientHeight || 600;
      // A few rows beyond the view on each side: enough for a smooth scroll step, few enough that
      // a keystroke which changes every row lays out little more than the visible ones.
      var start = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
      var end = Math.min(nres, Math.ceil((top + hgt) / ROW_H) + OVERSCAN);
      if (!force && start === lastStart && end === lastEnd) return;
      lastStart = start; lastEnd = end;
      if (rebuild) { drawn.clear(); body.replaceChildren(); }
      var next = new Map();
      for (var i = start; i < end; i++) {
        var old = drawn.get(i);
        if (old && old.r === result[i]) { next.set(i, old); drawn.delete(i); continue; }
        next.set(i, { r: result[i], el: rowEl(i) });
      }
      drawn.forEach(function (x) { x.el.remove(); });
      drawn = next;
      // DOM order follows row order, so Tab and screen readers meet rows top to bottom.
      var after = null;
      for (var j = end - 1; j >= start; j--) {
        var e = next.get(j).el;
        if (e.parentNode !== body || e.nextSibling !== after) body.insertBefore(e, after);
        after = e;
      }
    }
    function rowEl(i) {
      var r = result[i], row = m.rows[r];
      var el = h("div", { role: "row", cls: i % 2 ? "vrow odd" : "vrow", tid: "row", "data-ref": row.id, "aria-rowindex": String(i + 2), tabindex: "0", "data-i": String(i) });
      el.style.transform = "translateY(" + i * ROW_H + "px)";
      if (hasMetrics) {
        var cb = h("input", { type: "checkbox", tid: "pick", "aria-label": "Select " + row.id, "data-ref": row.id });
        cb.checked = m.picks.has(row.id);
        el.appendChild(h("div", { role: "cell", cls: "vcell pickcell" }, cb));
      }
      for (var c = 0; c < cols.length; c++) {
        var cl = cols[c];
        el.appendChild(h("div", { role: "cell", cls: "vcell" + (cl.num ? " num" : "") }, cl.cell(row)));
      }
      return el;
    }
    var rebuildNext = true;
    function refresh(typing) {
      filter();
      scroller.setAttribute("aria-rowcount", String(nres + 1));
      body.style.height = nres * ROW_H + "px";
      // Short tables shrink to their rows instead of leaving a tall empty box. The box's borders
      // and a wide table's horizontal scrollbar count too: left out, they hid the last row.
      var frame = scroller.offsetHeight ? scroller.offsetHeight - scroller.clientHeight : 2;
      var maxH = Math.max(nres, 3) * ROW_H + 40 + frame;
      scroller.style.maxHeight = maxH + "px";
      scroller.style.minHeight = Math.min(288, maxH) + "px";
      count.textContent = nres + " of " + m.rows.length;
      if (!facetUI.length) renderFacets(); else if (!typing) updateFacetCounts();
      if (scroller.scrollTop > nres * ROW_H) scroller.scrollTop = 0;
      var empty = body.querySelector(".noresults");
      if (empty) empty.remove();
      drawRows(true, rebuildNext);
      rebuildNext = false;
      if (!nres) body.appendChild(h("div", { cls: "noresults", role: "row" }, h("div", { role: "cell" }, m.rows.length ? "No " + kind + " match these filters." : "No " + kind + " " + HERE + ".")));
    }
    function updatePicks() {
      if (!hasMetrics) return;
      var n = m.picks.size;
      compareBtn.disabled = n < 2 || n > 20;
      compareBtn.textContent = n ? "Compare " + n : "Compare";
      compareBtn.title = n < 2 ? "Pick 2 to 20 rows to compare" : n > 20 ? "At most 20" : "";
      clearPicks.hidden = !n;
    }
    function openRow(i) { var r = m.rows[result[i]]; if (r) go(refHash(r.id)); }
    function focusRow(i) {
      if (i < 0 || i >= nres) return;
      var top = i * ROW_H, hgt = scroller.clientHeight - 40;
      if (top < scroller.scrollTop) scroller.scrollTop = top;
      else if (top + ROW_H > scroller.scrollTop + hgt) scroller.scrollTop = top + ROW_H - hgt;
      drawRows(false);
      var el = body.querySelector('[data-i="' + i + '"]');
      if (el) el.focus({ preventScroll: true });
    }

    // While someone types, the rows follow every key; the facet counts and the URL follow once
    // the typing pauses, so a keystroke pays for the table alone.
    var settle = 0;
    search.addEventListener("input", function () {
      st.q = search.value;
      refresh(true);
      clearTimeout(settle);
      settle = setTimeout(function () {
        if (!search.isConnected) return; // the view was left meanwhile: its URL is no longer ours
        updateFacetCounts();
        syncUrl();
      }, 120);
    });
    scroller.addEventListener("scroll", function () { if (!raf) raf = requestAnimationFrame(function () { drawRows(false); }); }, { passive: true });
    body.addEventListener("click", function (ev) {
      var t = ev.target;
      if (t.matches && t.matches("input[type=checkbox]")) return;
      if (t.closest && t.closest("a")) return;
      var row = t.closest && t.closest(".vrow");
      if (row && row.hasAttribute("data-i")) openRow(+row.getAttribute("data-i"));
    });
    body.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t.getAttribute("data-testid") !== "pick") return;
      var ref = t.getAttribute("data-ref");
      if (t.checked) m.picks.add(ref); else m.picks.delete(ref);
      updatePicks();
    });
    body.addEventListener("keydown", function (ev) {
      var row = ev.target.closest && ev.target.closest(".vrow");
      if (!row || !row.hasAttribute("data-i") || ev.target.tagName === "INPUT") return;
      var i = +row.getAttribute("data-i");
      if (ev.key === "Enter") { ev.preventDefault(); openRow(i); }
      else if (ev.key === "ArrowDown") { ev.preventDefault(); focusRow(i + 1); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); if (i === 0) search.focus(); else focusRow(i - 1); }
      else if (ev.key === " " && hasMetrics) {
        ev.preventDefault();
        var cb = row.querySelector("input[type=checkbox]");
        if (cb) { cb.checked = !cb.checked; cb.dispatchEvent(new Event("change", { bubbles: true })); }
      }
    });
    search.addEventListener("keydown", function (ev) { if (ev.key === "ArrowDown" && nres) { ev.preventDefault(); focusRow(0); } });
    if (hasMetrics) {
      compareBtn.addEventListener("click", function () {
        var refs = Array.from(m.picks);
        if (refs.length >= 2 && refs.length <= 20) go("#/compare" + buildQuery({ refs: refs }));
      });
      clearPicks.addEventListener("click", function () { m.picks.clear(); updatePicks(); drawRows(true, true); });
    }
    buildColumns();
    v._after = function () {
      refresh();
      updatePicks();
      // The search text of every row is built once, in its own task after the table shows, so the
      // first keystroke pays only for filtering.
      setTimeout(function () { ensureText(m); }, 0);
    };
    return v;
  }

  /* ---------- record ---------- */
  // `model:NAME` (no version) means the latest version, as in `strataml show` (query.Graph.find).
  // Federated, a joined dataset's other name opens its record, and a ref without its workspace
  // (dataset:iris@1, run:ID) opens the one member's record that has it (as `strataml show` finds it).
  function resolve(ref) {
    ref = canon(ref);
    if (REC[ref]) return ref;
    var found = newest(ref);
    if (found !== ref || !FED || refWs(ref)) return found;
    var hits = [];
    MEMBERS.forEach(function (m) {
      var r = newest(canon(String(m.name) + "/" + ref));
      if (REC[r] && hits.indexOf(r) < 0) hits.push(r);
    });
    return hits.length === 1 ? hits[0] : ref;
  }
  function newest(ref) {
    if (REC[ref] || /@/.test(ref) || !/^(dataset|model)$/.test(refKind(ref))) return ref;
    var best = null, bestKey = null;
    function consider(k) {
      if (k.slice(0, ref.length + 1) !== ref + "@") return;
      var v = k.slice(ref.length + 1), key = /^\d+$/.test(v) ? [1, +v, ""] : [0, 0, v];
      if (!bestKey || key[0] > bestKey[0] || (key[0] === bestKey[0] && (key[1] > bestKey[1] || (key[1] === bestKey[1] && key[2] > bestKey[2])))) { best = k; bestKey = key; }
    }
    for (var k in REC) consider(k);
    for (var a in ALIASES) consider(a);
    return best ? canon(best) : ref;
  }
  // What a record page says of a workspace whose index is not the workspace as it is now: an
  // index file is whatever its writer put in it (states, signatures, findings: nothing checked).
  function memberNote(name) {
    var m = MEMBERS.filter(function (x) { return String(x.name) === name; })[0];
    var st = m && typeof m.status === "string" ? m.status : "unknown";
    if (st === "fresh") return null;
    var why = st === "stale" ? "its saved index is older than the workspace, so this record may have changed since"
      : "its index could not be checked against a workspace, so what it says of this record (state, signatures, gate, findings) was not checked here";
    var said = m && typeof m.message === "string" && m.message ? " (" + m.message + ")" : "";
    return h("p", { cls: "note", tid: "member-note" }, "Workspace " + name + " is " + st + ": " + why + said + ".");
  }
  function recordView(ref) {
    var asked = ref;
    ref = resolve(ref);
    var rec = REC[ref];
    if (!rec) return notFound("No record “" + clip(ref, 200) + "” " + HERE + ".", ref);
    var kind = rec.kind || refKind(ref);
    var a = rec.attrs || {};
    var v = h("div", { tid: "view-record", cls: "view record", "data-ref": ref });
    var f = rec.findings || {};
    var sig = rec.signature;
    var chips = [h("span", { cls: "kind k-" + kind }, kind), healthBadge(recHealth(rec))];
    if (FED && recWs(ref)) chips.push(h("span", { cls: "wstag", tid: "record-workspace", title: "workspace" }, "workspace " + recWs(ref)));
    if (a.state) chips.push(badge(String(a.state), "st-" + a.state));
    if (a.status) chips.push(statusBadge(String(a.status)));
    if (sig) chips.push(signedCell({ signed: sig.status }));
    if (kind === "model" && rec.receipt) chips.push(gateBadge(rec.receipt.status));
    v.appendChild(h("div", { cls: "titlebar" },
      h("h1", { cls: "recname" }, refShort(ref)),
      h("div", { cls: "chips" }, chips),
      h("p", { cls: "muted meta" }, h("span", { cls: "mono" }, ref), rec.path ? [" · ", h("span", { cls: "mono" }, rec.path)] : null,
        " · ", h("a", { href: lineageHash(ref) }, "Lineage →"))));
    if (FED && asked !== ref && Array.isArray(rec.names) && rec.names.some(function (n) { return n && n.ref === asked; })) {
      v.appendChild(h("p", { cls: "note", tid: "alias-note" }, h("span", { cls: "mono" }, asked),
        " is another name of this record: the same data (same digest) recorded in " + refWs(asked) + "."));
    }
    var member = FED && recWs(ref) ? memberNote(recWs(ref)) : null;
    if (member) v.appendChild(member);
    if (typeof a.description === "string" && a.description) v.appendChild(h("p", { cls: "desc" }, longText(a.description, 2000)));

    var cols = h("div", { cls: "recgrid" });
    v.appendChild(cols);
    var mainCol = h("div", { cls: "reccol" }), sideCol = h("div", { cls: "reccol side" });
    cols.appendChild(mainCol); cols.appendChild(sideCol);

    var fl = (rec.reported || []).map(function (i) { return FINDINGS[i]; }).filter(Boolean);
    mainCol.appendChild(section("Findings", "findings", fl.length ? findingsTable(fl) : h("p", { cls: "ok-line" }, "✓ No findings."),
      h("span", { cls: "h2count" }, (f.errors || 0) + " errors · " + (f.warnings || 0) + " warnings · " + (f.infos || 0) + " infos")));

    if (kind === "model") {
      var rc = rec.receipt;
      mainCol.appendChild(section("Gate receipt", "receipt", rc ? [
        h("p", { cls: "wrap" }, gateBadge(rc.status), rc.emitted_at ? h("span", { cls: "muted" }, " emitted " + fmtTime(rc.emitted_at)) : null,
          rc.run ? [" from ", refLink(rc.run)] : null),
        Array.isArray(rc.criteria) && rc.criteria.length ? table(["Criterion", "Metric", "Observed", "Result"], rc.criteria.map(function (c) {
          return h("tr", null, h("td", { cls: "mono" }, c.expression), h("td", { cls: "mono" }, c.metric),
            h("td", { cls: "num" }, fmtNum(c.observed)),
            h("td", null, h("span", { cls: "crit " + (c.passed === true ? "pass" : "fail") }, c.passed === true ? "✓ PASS" : "✕ FAIL")));
        })) : empty("No criteria."),
        Array.isArray(rc.reasons) && rc.reasons.length ? h("ul", { cls: "reasons" }, rc.reasons.map(function (r) { return h("li", null, fmtVal(r)); })) : null,
        extraKeys(rc, ["status", "emitted_at", "run", "criteria", "reasons"])
      ] : empty("No gate receipt: this model was registered without a gate evaluation.")));
      var hist = rec.history || [];
      mainCol.appendChild(section("Promotion history", "history", hist.length ? table(["#", "When", "Transition", "Who", "Reason", "Gate"], hist.map(function (e) {
        return h("tr", null, h("td", { cls: "num" }, fmtVal(e.seq)), h("td", { cls: "mono nowrap" }, fmtTime(e.at)),
          h("td", { cls: "nowrap" }, badge(fmtVal(e.from), "st-" + e.from), " → ", badge(fmtVal(e.to), "st-" + e.to)),
          h("td", { cls: "wrap" }, fmtVal(e.actor)), h("td", { cls: "wrap" }, fmtVal(e.reason)),
          h("td", { cls: "mono", title: e.gate || "" }, e.gate ? shortSha(e.gate) : "—"));
      })) : empty("No promotions recorded in the ledger.")));
    }
    if (kind === "run") {
      var params = a.params && typeof a.params === "object" ? a.params : null;
      var metrics = a.metrics && typeof a.metrics === "object" ? a.metrics : null;
      mainCol.appendChild(section("Metrics", "metrics", metrics && Object.keys(metrics).length ? kvTable(metrics, true) : empty("No metrics.")));
      if (rec.curves && Object.keys(rec.curves).length) mainCol.appendChild(section("Step curves", "curves", curves(rec.curves)));
      mainCol.appendChild(section("Params", "params", params && Object.keys(params).length ? kvTable(params) : empty("No params.")));
    }
    if (Array.isArray(a.inputs) && a.inputs.length) {
      mainCol.appendChild(section("Inputs", "inputs", table(["Input", "Digest"], a.inputs.map(function (i) {
        return h("tr", null, h("td", null, i && i.ref ? refLink(String(i.ref)) : "—"), h("td", { cls: "mono", title: i && i.digest || "" }, shortSha(i && i.digest)));
      }))));
    }
    if (rec.files) mainCol.appendChild(section("Files", "files", filesTable(rec)));
    if (kind === "run" && rec.files) {
      var plots = rec.files.filter(function (x) { return /^plots\//.test(x.path) && /\.(png|jpe?g|gif|svg|webp)$/i.test(x.path); });
      if (plots.length) mainCol.appendChild(section("Plots", "plots", h("ul", { cls: "plots" }, plots.map(function (p) {
        var href = fileHref(rec, p.path);
        return h("li", null, href ? h("a", { href: href, rel: "noopener", target: "_blank" }, p.path) : h("span", { cls: "mono" }, p.path),
          href ? null : h("span", { cls: "muted" }, FED ? " (a page over several workspaces links none of their files)" : REPO === null ? " (open the page inside the repository to follow plot links)" : " (not linked: open it from the repository)"));
      }))));
    }
    if (kind === "experiment" && rec.report && rec.report.runs) mainCol.appendChild(section("Runs", "report", reportView(rec.report)));
    mainCol.appendChild(section("Attributes", "attrs", attrsView(a)));

    if (FED && Array.isArray(rec.names) && rec.names.length > 1) sideCol.appendChild(section("Also known as", "aka", akaBlock(rec)));
    if (sig) sideCol.appendChild(section("Signature", "signature", signatureBlock(sig)));
    var docs = D.exports && Object.prototype.hasOwnProperty.call(D.exports, ref) && Array.isArray(D.exports[ref]) ? D.exports[ref] : null;
    if (docs && docs.length) sideCol.appendChild(section("Exports", "exports", exportsBlock(docs)));
    sideCol.appendChild(section("Neighbours", "neighbours", neighbours(ref), h("a", { href: lineageHash(ref), cls: "h2link" }, "Lineage →")));
    return v;
  }
  // What `strataml export` writes for this record, made when the page was built: shown in
  // place, or saved from memory (a Blob), so it works from file:// and loads nothing.
  var FORMAT_NAMES = { "model-card": "Hugging Face model card", "croissant": "Croissant JSON-LD", "openlineage": "OpenLineage events" };
  function exportsBlock(docs) {
    return docs.filter(function (d) { return d && typeof d.text === "string" && typeof d.file === "string"; }).map(function (d) {
      // Scrollable, so reachable by keyboard (tabindex) and named for a screen reader.
      var pre = h("pre", { cls: "export-text", hidden: true, tid: "export-text", tabindex: "0",
        "aria-label": (FORMAT_NAMES[d.format] || "export") + ": " + d.file }, d.text);
      var show = h("button", { type: "button", cls: "linkbtn", tid: "export-show", onclick: function () {
        pre.hidden = !pre.hidden;
        show.textContent = pre.hidden ? "Show" : "Hide";
      } }, "Show");
      var save = h("button", { type: "button", cls: "linkbtn", tid: "export-save", onclick: function () {
        var url = URL.createObjectURL(new Blob([d.text], { type: typeof d.type === "string" ? d.type : "text/plain" }));
        var a = document.createElement("a");
        a.href = url;  // a Blob of the page's own data: set directly, not through safeHref
        a.download = d.file.replace(/[\/\\\u0000-\u001f\u007f]/g, "_");
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      } }, "Save " + d.file);
      return h("div", { cls: "export", tid: "export-" + d.format },
        h("p", null, h("strong", null, FORMAT_NAMES[d.format] || fmtVal(d.format)), " ",
          h("span", { cls: "muted" }, fmtVal(d.text.length) + " characters"), " ", show, " ", save),
        pre);
    });
  }
  // A dataset version several workspaces recorded with the same digest: one record, every name.
  function akaBlock(rec) {
    var names = rec.names.filter(function (n) { return n && typeof n === "object"; });
    var digest = rec.attrs && rec.attrs.digest;
    // Each name's own record may say something else about the same bytes (a licence above all).
    var differ = Array.isArray(rec.differ) ? rec.differ.filter(function (k) { return typeof k === "string"; }) : [];
    var shownKeys = ["license"].concat(differ.filter(function (k) { return k !== "license"; })).slice(0, 4);
    return [
      h("p", { cls: "muted" }, "The same data" + (typeof digest === "string" ? " (" + shortSha(digest) + ")" : "") + " is recorded in " +
        plural(names.length, "workspace") + "; it is one record here, named " + fmtVal(rec.id) + "."),
      differ.length ? h("p", { cls: "t-warn", tid: "aka-differ" }, "⚠ The workspaces record it differently: " + differ.join(", ") +
        ". The attributes above are " + fmtVal(rec.workspace) + "'s; each name's own are below.") : null,
      focusable(table(["Workspace", "Name", "Path"].concat(shownKeys), names.map(function (n) {
        var a = n.attrs && typeof n.attrs === "object" ? n.attrs : {};
        return h("tr", { tid: n.ref === rec.id ? "aka-self" : "aka-row", "data-ref": fmtVal(n.ref), "data-workspace": fmtVal(n.workspace) },
          h("td", { cls: "mono" }, fmtVal(n.workspace)), h("td", { cls: "mono wrap" }, fmtVal(n.ref)), h("td", { cls: "mono wrap" }, fmtVal(n.path)),
          shownKeys.map(function (k) { var v = own(a, k); return h("td", { cls: "wrap" }, v === undefined ? "—" : clip(fmtVal(v), 160)); }));
      })), "Names of this dataset")
    ];
  }
  // A table wide enough to scroll: reachable by keyboard, and named for screen readers.
  function focusable(wrap, label) {
    wrap.setAttribute("tabindex", "0");
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", label);
    return wrap;
  }
  // strataml report experiment:NAME, as the payload carries it (strataml/read/report.py).
  function reportView(r) {
    var f = function (x) { return typeof x === "number" ? fmtNum(x) : "—"; };
    var best = r.best_run;
    var head = h("p", { tid: "report-summary", cls: "wrap" }, r.runs + (r.runs === 1 ? " run: " : " runs: ") + r.succeeded + " succeeded, " + r.failed + " failed.",
      best ? [" Best run: ", refLink(best.run), " (" + best.metric + " = " + f(best.value) + ")."] : null);
    var rows = (r.metrics || []).map(function (m) {
      var moved = m.last === m.first || !m.better ? "" : ((m.last > m.first) === (m.better === "higher") ? " ▲" : " ▼");
      return h("tr", { tid: "report-row", "data-key": m.name }, h("th", { scope: "row", cls: "mono" }, m.name + (m.gated ? " (gate)" : "")),
        h("td", null, m.better || "?"), h("td", { cls: "num" }, m.best ? f(m.best.value) : "—"), h("td", { cls: "num" }, f(m.mean)),
        h("td", { cls: "num" }, f(m.std)), h("td", { cls: "num" }, f(m.min)), h("td", { cls: "num" }, f(m.max)),
        h("td", { cls: "num" }, f(m.first) + " → " + f(m.last) + moved));
    });
    return h("div", null, head, table(["Metric", "Better", "Best", "Mean", "Std", "Min", "Max", "First → last"], rows));
  }
  function extraKeys(obj, known) {
    var rest = Object.create(null);
    Object.keys(obj).forEach(function (k) { if (known.indexOf(k) < 0) rest[k] = obj[k]; });
    return Object.keys(rest).length ? h("details", { cls: "more" }, h("summary", null, "More receipt fields"), attrsView(rest)) : null;
  }
  function longText(s, n) {
    s = String(s);
    if (s.length <= n) return s;
    var span = h("span", null, s.slice(0, n) + "…");
    var btn = h("button", { type: "button", cls: "linkbtn", onclick: function () { span.textContent = visible(s); btn.remove(); } }, " Show all " + s.length + " characters");
    return h("span", null, span, btn);
  }
  function kvTable(obj, metrics) {
    var keys = Object.keys(obj).sort();
    return table(["Name", "Value"], keys.map(function (k) {
      return h("tr", null, h("td", { cls: "mono" }, k), h("td", { cls: typeof obj[k] === "number" ? "num" : "wrap" }, longText(fmtVal(obj[k]), 500)));
    }), metrics ? "kv metrics" : "kv");
  }
  // A record may hold any shape; what one page draws is bounded (DL_BUDGET values, DL_COLS
  // columns, DL_DEPTH levels), the rest is summarised, so no record can freeze its page.
  var DL_BUDGET = 0, DL_COLS = 12, DL_DEPTH = 6;
  function attrsView(obj) { DL_BUDGET = 4000; return dl(obj, 0); }
  function dl(obj, depth) {
    if (--DL_BUDGET < 0) return h("span", { cls: "muted" }, "…");
    if (obj === null || typeof obj !== "object") return h("span", null, longText(fmtVal(obj), 500));
    if (depth > DL_DEPTH) return h("span", { cls: "mono wrap" }, longText(clipJson(obj), 300));
    if (Array.isArray(obj)) {
      if (!obj.length) return h("span", { cls: "muted" }, "(empty)");
      var allScalar = obj.every(function (x) { return x === null || typeof x !== "object"; });
      if (allScalar) return h("span", { cls: "wrap" }, longText(obj.map(fmtVal).join(", "), 800));
      var allObj = obj.every(function (x) { return x && typeof x === "object" && !Array.isArray(x); });
      var seen = new Set();
      if (allObj) for (var i = 0; i < obj.length && seen.size <= DL_COLS; i++) for (var k0 in obj[i]) seen.add(k0);
      if (allObj && depth < 4 && seen.size <= DL_COLS) {
        var keys = Array.from(seen);
        var t = table(keys, obj.slice(0, 200).map(function (x) {
          return h("tr", null, keys.map(function (k) { var v = own(x, k); return h("td", { cls: "wrap" }, v !== null && typeof v === "object" ? dl(v, depth + 1) : longText(fmtVal(v), 300)); }));
        }), "nested");
        return obj.length > 8 ? h("details", null, h("summary", null, obj.length + " items"), t) : t;
      }
      return [h("ol", { cls: "arr" }, obj.slice(0, 200).map(function (x) { return h("li", null, dl(x, depth + 1)); })),
        obj.length > 200 ? h("p", { cls: "muted" }, "First 200 of " + obj.length + " items; `strataml show --format json` prints all.") : null];
    }
    var ks = Object.keys(obj);
    if (!ks.length) return h("span", { cls: "muted" }, "(empty)");
    if (ks.length > 200) ks = ks.slice(0, 200);
    return h("dl", { cls: "attrs d" + Math.min(depth, 3) }, ks.map(function (k) {
      return [h("dt", { cls: "mono" }, k), h("dd", null, dl(obj[k], depth + 1))];
    }));
  }
  function clipJson(obj) {
    var out = "", n = 0;
    try { out = JSON.stringify(obj, function (k, v) { return ++n > 500 ? undefined : v; }); } catch (e) { out = "…"; }
    return String(out);
  }
  function filesTable(rec) {
    var files = rec.files || [];
    if (!files.length) return empty("No files.");
    var rows = files.slice(0, 2000).map(function (x) {
      var pres = x.present;
      var href = pres === "missing" ? null : fileHref(rec, x.path);  // (nothing there, or what the doctor will not follow)
      return h("tr", null, h("td", { cls: "mono wrap" }, href ? h("a", { href: href, rel: "noopener" }, fmtVal(x.path)) : fmtVal(x.path)),
        h("td", { cls: "num nowrap" }, fmtSize(x.size)),
        h("td", { cls: "mono", title: x.sha256 || "" }, x.sha256 ? String(x.sha256).slice(0, 12) : "—"),
        h("td", null, h("span", { cls: "badge pr-" + String(pres).replace(/[^a-z]/gi, "") }, pres === "lfs-pointer" ? "LFS pointer" : fmtVal(pres))));
    });
    return [table(["Path", "Size", "sha256", "Present"], rows), files.length > 2000 ? h("p", { cls: "muted" }, "First 2000 of " + files.length + " files.") : null];
  }
  function signatureBlock(sig) {
    var req = sig.required_signers || 0;
    return [
      h("p", null, signedCell({ signed: sig.status }), " ", h("span", null, fmtVal(sig.valid_signers || 0) + " valid of " + req + " required"),
        req && (sig.valid_signers || 0) < req ? h("span", { cls: "t-err" }, " — below policy") : null),
      sig.signers && sig.signers.length ? table(["Signer", "Fingerprint", "Scheme", "Scopes"], sig.signers.map(function (s) {
        return h("tr", null, h("td", { cls: "wrap" }, fmtVal(s.uid)), h("td", { cls: "mono", title: s.fingerprint || "" }, clip(fmtVal(s.fingerprint), 20)),
          h("td", null, s.scheme === "model-signing" ? "OpenSSF model signing" : "OpenPGP"),
          h("td", null, (s.scopes || []).map(function (x) { return h("span", { cls: "tag" }, fmtVal(x)); })));
      })) : empty("No signers.")
    ];
  }
  function neighbours(ref) {
    var g = graph();
    function list(items, dirLabel) {
      if (!items || !items.length) return h("p", { cls: "muted" }, "No " + dirLabel + ".");
      var shown = items.slice(0, 100);
      return [h("ul", { cls: "nlist" }, shown.map(function (e) {
        return h("li", null, h("span", { cls: "kind k-" + refKind(e[0]) }, refKind(e[0])), " ", wsTag(e[0]), FED ? " " : null, refLink(e[0], refShort(e[0])), h("span", { cls: "muted" }, " " + e[1]),
          e[2] ? h("span", { cls: "xmark", tid: "cross-neighbour" }, " ⇄ across workspaces") : null);
      })), items.length > 100 ? h("p", { cls: "muted" }, "and " + (items.length - 100) + " more", more(items)) : null];
    }
    // Where the rest are (the lineage view draws the nearest 60 only, so it is no place for them).
    function more(items) {
      if (FED || refKind(ref) !== "experiment" || !items.every(function (e) { return refKind(e[0]) === "run"; })) return ".";
      return [": ", h("a", { href: "#/runs" + buildQuery({ "f.experiment": ref.slice(ref.indexOf(":") + 1) }) }, "all " + items.length + " runs of this experiment →")];
    }
    return [h("h3", null, "Upstream"), list(g.up[ref], "upstream records"), h("h3", null, "Downstream"), list(g.down[ref], "downstream records")];
  }
  function curves(cv) {
    var names = Object.keys(cv).sort();
    return h("div", { cls: "curves" }, names.map(function (n) {
      var pts = (cv[n] || []).filter(function (p) { return Array.isArray(p) && typeof p[0] === "number" && typeof p[1] === "number" && isFinite(p[0]) && isFinite(p[1]); });
      return h("figure", { cls: "curve" }, lineChart(pts, n, 320, 150), h("figcaption", { cls: "mono" }, n + " (" + pts.length + " steps" +
        (pts.length ? ", last " + fmtNum(pts[pts.length - 1][1]) : "") + ")"));
    }));
  }
  function lineChart(pts, label, W, H, opts) {
    opts = opts || {};
    var pad = { l: 46, r: 10, t: 10, b: 24 };
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label + ": " + pts.length + " points", cls: "chart" });
    if (!pts.length) { svg.appendChild(sv("text", { x: 10, y: 20, cls: "axis" }, "no data")); return svg; }
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    pts.forEach(function (p) { if (p[0] < x0) x0 = p[0]; if (p[0] > x1) x1 = p[0]; if (p[1] < y0) y0 = p[1]; if (p[1] > y1) y1 = p[1]; });
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y1 = y0 + Math.abs(y0 || 1) * 0.05; y0 -= Math.abs(y0 || 1) * 0.05; }
    var sx = function (x) { return pad.l + (x - x0) / (x1 - x0) * (W - pad.l - pad.r); };
    var sy = function (y) { return H - pad.b - (y - y0) / (y1 - y0) * (H - pad.t - pad.b); };
    svg.appendChild(sv("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, cls: "axisline" }));
    svg.appendChild(sv("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, cls: "axisline" }));
    svg.appendChild(sv("text", { x: pad.l - 4, y: sy(y1) + 4, cls: "axis", "text-anchor": "end" }, fmtNum(y1)));
    svg.appendChild(sv("text", { x: pad.l - 4, y: sy(y0), cls: "axis", "text-anchor": "end" }, fmtNum(y0)));
    svg.appendChild(sv("text", { x: pad.l, y: H - 6, cls: "axis" }, opts.xfmt ? opts.xfmt(x0) : fmtNum(x0)));
    svg.appendChild(sv("text", { x: W - pad.r, y: H - 6, cls: "axis", "text-anchor": "end" }, opts.xfmt ? opts.xfmt(x1) : fmtNum(x1)));
    // Thousands of points become one path, so the chart stays a handful of DOM nodes.
    var d = "";
    var step = Math.max(1, Math.floor(pts.length / 2000));
    for (var i = 0; i < pts.length; i += step) d += (i ? "L" : "M") + sx(pts[i][0]).toFixed(1) + " " + sy(pts[i][1]).toFixed(1);
    if (opts.dots) {
      var dd = "";
      pts.forEach(function (p) { var x = sx(p[0]), y = sy(p[1]); dd += "M" + (x - 3).toFixed(1) + " " + (y - 3).toFixed(1) + "h6v6h-6z"; });
      svg.appendChild(sv("path", { d: dd, cls: "dots" }));
    }
    if (!opts.noLine) svg.appendChild(sv("path", { d: d, cls: "series" }));
    (opts.marks || []).forEach(function (mk) {
      svg.appendChild(sv("circle", { cx: sx(mk[0]).toFixed(1), cy: sy(mk[1]).toFixed(1), r: 5, cls: "mark" }, sv("title", null, mk[2])));
    });
    return svg;
  }

  /* ---------- lineage ---------- */
  var LAYER_CAP = 60;
  function lineageView(ref, q) {
    ref = resolve(ref);
    var rec = REC[ref];
    if (!rec) return notFound("No record “" + clip(ref, 200) + "” to draw the lineage of.", ref);
    var depth = Math.max(1, Math.min(6, parseInt(qget(q, "depth"), 10) || 2));
    var dir = qget(q, "dir");
    if (dir !== "up" && dir !== "down") dir = "both";
    var v = h("div", { tid: "view-lineage", cls: "view lineage" });
    var depthSel = h("select", { tid: "depth", id: "lin-depth" });
    for (var d = 1; d <= 6; d++) depthSel.appendChild(h("option", { value: String(d) }, String(d)));
    depthSel.value = String(depth);
    var dirSel = h("select", { tid: "dir", id: "lin-dir" },
      h("option", { value: "both" }, "up and down"), h("option", { value: "up" }, "upstream"), h("option", { value: "down" }, "downstream"));
    dirSel.value = dir;
    depthSel.addEventListener("change", function () { go(lineageHash(ref, +depthSel.value, dirSel.value)); });
    dirSel.addEventListener("change", function () { go(lineageHash(ref, +depthSel.value, dirSel.value)); });
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", null, "Lineage of " + refShort(ref)),
      h("p", { cls: "muted meta" }, h("span", { cls: "kind k-" + refKind(ref) }, refKind(ref)), " ", FED ? [wsTag(ref), " "] : null, refLink(ref, "Open record →"))));
    v.appendChild(h("div", { cls: "toolbar" },
      h("label", { "for": "lin-depth" }, "Depth "), depthSel,
      h("label", { "for": "lin-dir" }, "Direction "), dirSel,
      h("a", { href: "#/lineage", cls: "btn" }, "Workspace graph")));
    var lay = layoutFocus(ref, depth, dir);
    v.appendChild(h("div", { cls: "graphwrap" }, drawGraph(lay, ref, function (n) { return lineageHash(n, depth, dir); })));
    v.appendChild(legend());
    v.appendChild(lineageTable(lay));
    v._after = function () {
      if (lastLineageFocus) {
        var f = v.querySelector('[data-focus="1"]');
        if (f) f.focus({ preventScroll: false });
        lastLineageFocus = false;
      }
      var f2 = v.querySelector('[data-focus="1"]');
      var wrap = v.querySelector(".graphwrap");
      if (f2 && wrap) {
        // Where the node is drawn (getBBox is in the node's own coordinates, before the
        // translate that places it: 0,0 for every node, so a phone showed the graph's start).
        var r = f2.getBoundingClientRect(), w = wrap.getBoundingClientRect();
        wrap.scrollLeft = Math.max(0, wrap.scrollLeft + r.left - w.left - wrap.clientWidth / 2 + r.width / 2);
        wrap.scrollTop = Math.max(0, wrap.scrollTop + r.top - w.top - wrap.clientHeight / 2 + r.height / 2);
      }
    };
    return v;
  }
  var lastLineageFocus = false;
  function bfs(ref, depth, dirs) {
    var g = graph(), layer = new Map([[ref, 0]]);
    dirs.forEach(function (dn) {
      var sign = dn === "up" ? -1 : 1, frontier = [ref];
      for (var dd = 1; dd <= depth && frontier.length; dd++) {
        var next = [];
        for (var i = 0; i < frontier.length; i++) {
          var ns = (dn === "up" ? g.up : g.down)[frontier[i]] || [];
          for (var j = 0; j < ns.length; j++) {
            var n = ns[j][0];
            if (!layer.has(n)) { layer.set(n, sign * dd); next.push(n); }
          }
        }
        frontier = next;
      }
    });
    return layer;
  }
  function layoutFocus(ref, depth, dir) {
    var layer = bfs(ref, depth, dir === "both" ? ["up", "down"] : [dir]);
    var g = graph();
    var edges = [];
    // The edges `strataml lineage` draws (render._on_path): both ends upstream of the focus, or
    // both downstream; an edge from an ancestor to a descendant is not on a followed path.
    layer.forEach(function (l, n) {
      (g.down[n] || []).forEach(function (e) {
        var m = layer.get(e[0]);
        if (m !== undefined && ((l <= 0 && m <= 0) || (l >= 0 && m >= 0))) edges.push([n, e[0], e[1], e[2]]);
      });
    });
    // Shortest distance puts shortcut edges (dataset → model) inside one layer; pushing the upstream
    // end one layer further out keeps every edge flowing left to right.
    for (var pass = 0; pass < 4; pass++) {
      var moved = false;
      for (var i = 0; i < edges.length; i++) {
        var a = edges[i][0], b = edges[i][1], la = layer.get(a), lb = layer.get(b);
        if (la >= lb) {
          if (la < 0 || (la === 0 && a !== ref)) { if (a !== ref && lb - 1 >= -depth - 2) { layer.set(a, lb - 1); moved = true; } }
          else if (b !== ref && la + 1 <= depth + 2) { layer.set(b, la + 1); moved = true; }
        }
      }
      if (!moved) break;
    }
    return buildLayout(layer, edges, ref, function (n) { return nodeInfo(n); });
  }
  function nodeInfo(ref) {
    var r = REC[ref] || {}, a = r.attrs || {};
    var info = { ref: ref, kind: refKind(ref), label: refShort(ref), health: healthBucket(recHealth(r)), badges: [], ws: FED ? nodeWs(ref) : "", home: FED ? recWs(ref) : "" };
    if (info.kind === "model" && a.state) info.badges.push(String(a.state));
    if (info.kind === "run" && a.status && a.status !== "succeeded") info.badges.push(String(a.status));
    if (r.signature && r.signature.status === "signed") info.badges.push("signed");
    if (r.signature && r.signature.status === "invalid") info.badges.push("sig invalid");
    return info;
  }
  // A graph node's workspace line: its member, or every member of a joined dataset.
  function nodeWs(ref) {
    var r = REC[ref], out = [];
    if (r && Array.isArray(r.names)) r.names.forEach(function (n) { if (n && out.indexOf(fmtVal(n.workspace)) < 0) out.push(fmtVal(n.workspace)); });
    return out.length ? out.join(", ") : recWs(ref);
  }
  function buildLayout(layer, edges, focus, info) {
    var byLayer = new Map();
    layer.forEach(function (l, n) { (byLayer.get(l) || byLayer.set(l, []).get(l)).push(n); });
    var ls = Array.from(byLayer.keys()).sort(function (a, b) { return a - b; });
    var pos = new Map(), nodes = [], more = [];
    var nbr = new Map();
    edges.forEach(function (e) {
      (nbr.get(e[0]) || nbr.set(e[0], []).get(e[0])).push(e[1]);
      (nbr.get(e[1]) || nbr.set(e[1], []).get(e[1])).push(e[0]);
    });
    var placedY = new Map();
    // Order layers outward from the focus, each by the mean position of already-placed neighbours:
    // one barycentre sweep is enough to untangle the small fan-in/fan-out graphs lineage produces.
    var orderL = ls.slice().sort(function (a, b) { return Math.abs(a) - Math.abs(b) || a - b; });
    var colOf = new Map();
    ls.forEach(function (l, i) { colOf.set(l, i); });
    orderL.forEach(function (l) {
      var ns = byLayer.get(l);
      var keyed = ns.map(function (n) {
        var s = 0, c = 0, list = nbr.get(n) || [];
        for (var i = 0; i < list.length && i < 50; i++) { var y = placedY.get(list[i]); if (y !== undefined) { s += y; c++; } }
        var kindRank = { dataset: 0, experiment: 1, run: 2, model: 3 }[refKind(n)];
        return { n: n, k: c ? s / c : 1e9, kr: kindRank === undefined ? 4 : kindRank };
      });
      keyed.sort(function (a, b) { return a.n === focus ? -1 : b.n === focus ? 1 : a.k - b.k || a.kr - b.kr || (a.n < b.n ? -1 : 1); });
      var shown = keyed.slice(0, LAYER_CAP);
      shown.forEach(function (x, i) { placedY.set(x.n, i); });
      shown.forEach(function (x, i) { var nd = info(x.n); nd.col = colOf.get(l); nd.row = i; nd.layer = l; pos.set(x.n, nd); nodes.push(nd); });
      if (keyed.length > LAYER_CAP) {
        var hidden = keyed.slice(LAYER_CAP).map(function (x) { return x.n; });
        more.push({ col: colOf.get(l), row: LAYER_CAP, layer: l, count: hidden.length, hidden: hidden });
      }
    });
    var maxRows = 1;
    nodes.forEach(function (n) { if (n.row + 1 > maxRows) maxRows = n.row + 1; });
    more.forEach(function (m) { if (m.row + 1 > maxRows) maxRows = m.row + 1; });
    var drawn = edges.filter(function (e) { return pos.has(e[0]) && pos.has(e[1]); });
    return { nodes: nodes, more: more, edges: drawn, allEdges: edges, cols: ls.length, rows: maxRows, pos: pos, layers: ls, total: layer.size };
  }
  // Federated nodes are a line taller: the workspace goes under the name.
  var NW = 200, NH = FED ? 54 : 40, CW = 260, RH = FED ? 66 : 52, TOP = 40;
  function drawGraph(lay, focus, hrefOf, ariaLabel) {
    var W = Math.max(lay.cols * CW - (CW - NW) + 24, 200), H = lay.rows * RH + TOP + 8;
    var svg = sv("svg", { tid: "lineage-graph", cls: "graph", role: "group", "aria-label": ariaLabel || ("Lineage graph: " + lay.nodes.length + " nodes drawn, " + lay.edges.length + " edges; the table below lists them"), width: W, height: H, viewBox: "0 0 " + W + " " + H });
    var gE = sv("g", { cls: "edges", "aria-hidden": "true" }), gN = sv("g", { cls: "nodes" });
    svg.appendChild(gE); svg.appendChild(gN);
    function xy(n) { return [12 + n.col * CW, TOP + n.row * RH]; }
    var d = { input: "", experiment: "", produced: "", derived: "", other: "" };
    // Edges between two workspaces of a federation (4th item true) get paths of their own, drawn apart.
    var dx = { input: "", experiment: "", produced: "", derived: "", other: "" };
    for (var i = 0; i < lay.edges.length; i++) {
      var e = lay.edges[i], a = lay.pos.get(e[0]), b = lay.pos.get(e[1]);
      var pa = xy(a), pb = xy(b), k = d[e[2]] !== undefined ? e[2] : "other", t = e[3] === true ? dx : d;
      var x1 = pa[0] + NW, y1 = pa[1] + NH / 2, x2 = pb[0], y2 = pb[1] + NH / 2;
      if (a.col === b.col) { x1 = pa[0] + NW; x2 = pb[0] + NW; var bx = x1 + 30; t[k] += "M" + x1 + " " + y1 + "C" + bx + " " + y1 + " " + bx + " " + y2 + " " + x2 + " " + y2; continue; }
      if (a.col > b.col) { x1 = pa[0]; x2 = pb[0] + NW; }
      var span = Math.abs(b.col - a.col);
      if (span > 1) {
        // An edge that skips a column would run straight through the nodes between; arc it over them.
        // A cubic only reaches 3/4 of the way to its control points, hence the division.
        var lift = Math.min(y1, y2) - (NH / 2 + 10 + 4 * Math.min(span, 5)) / 0.75;
        t[k] += "M" + x1 + " " + y1 + "C" + (x1 + 40) + " " + lift + " " + (x2 - 40) + " " + lift + " " + x2 + " " + y2;
        continue;
      }
      var mx = (x1 + x2) / 2;
      t[k] += "M" + x1 + " " + y1 + "C" + mx + " " + y1 + " " + mx + " " + y2 + " " + x2 + " " + y2;
    }
    // One path per edge kind keeps 500-edge graphs to a handful of DOM nodes.
    Object.keys(d).forEach(function (k) { if (d[k]) gE.appendChild(sv("path", { d: d[k], cls: "edge e-" + k })); });
    Object.keys(dx).forEach(function (k) { if (dx[k]) gE.appendChild(sv("path", { d: dx[k], cls: "edge e-" + k + " e-cross", tid: "lineage-cross", "data-kind": k })); });
    lay.nodes.forEach(function (n) {
      var p = xy(n), isF = n.ref === focus;
      var g = sv("g", { tid: "lineage-node", "data-ref": n.ref, "data-focus": isF ? "1" : null, cls: "node k-" + n.kind + " h-" + n.health + (isF ? " focus" : ""),
        transform: "translate(" + p[0] + "," + p[1] + ")", tabindex: "0", role: "link",
        "aria-label": n.kind + " " + n.label + (n.ws ? ", workspace " + n.ws : "") + (n.count ? ", " + n.count : "") + ", health " + n.health + (n.badges.length ? ", " + n.badges.join(", ") : "") + (isF ? " (focus)" : "") });
      g.appendChild(sv("title", null, n.ref + (n.count ? " (" + n.count + ")" : "")));
      g.appendChild(shape(n.kind));
      g.appendChild(sv("text", { x: 12, y: 15, cls: "nk" }, (n.health === "errors" ? "✕ " : n.health === "warnings" ? "! " : "") + n.kind + (n.count ? " · " + n.count : "")));
      if (n.badges.length) g.appendChild(sv("text", { x: NW - 8, y: 15, cls: "nb", "text-anchor": "end" }, n.badges.join(" · ")));
      g.appendChild(sv("text", { x: 12, y: 32, cls: "nl" }, clip(n.label, 24)));
      if (n.ws) g.appendChild(sv("text", { x: 12, y: 47, cls: "nw", tid: "node-workspace" }, clip(n.ws, 30)));
      g._href = hrefOf(n.ref, n);
      gN.appendChild(g);
    });
    lay.more.forEach(function (m) {
      var p = xy(m);
      gN.appendChild(sv("g", { cls: "node more", transform: "translate(" + p[0] + "," + p[1] + ")", tid: "lineage-more" },
        sv("rect", { width: NW, height: NH, rx: 6, cls: "nshape" }),
        sv("text", { x: NW / 2, y: 25, "text-anchor": "middle", cls: "nl" }, "+" + m.count + " more")));
    });
    function activate(ev) {
      var g = ev.target.closest && ev.target.closest("[data-testid=lineage-node]");
      if (!g || !g._href) return;
      if (ev.type === "keydown") { if (ev.key !== "Enter" && ev.key !== " ") return; ev.preventDefault(); lastLineageFocus = true; }
      go(g._href);
    }
    svg.addEventListener("click", activate);
    svg.addEventListener("keydown", activate);
    return svg;
  }
  function shape(kind) {
    if (kind === "dataset") return sv("rect", { width: NW, height: NH, rx: 18, cls: "nshape" });
    if (kind === "model") return sv("path", { d: "M10 0H" + (NW - 10) + "L" + NW + " " + NH / 2 + "L" + (NW - 10) + " " + NH + "H10L0 " + NH / 2 + "Z", cls: "nshape" });
    if (kind === "experiment") return sv("rect", { width: NW, height: NH, rx: 2, cls: "nshape dashed" });
    return sv("rect", { width: NW, height: NH, rx: 4, cls: "nshape" });
  }
  function legend() {
    return h("p", { cls: "legend muted" }, "Shapes: ", h("span", { cls: "kind k-dataset" }, "dataset"), " pill · ",
      h("span", { cls: "kind k-experiment" }, "experiment"), " dashed · ", h("span", { cls: "kind k-run" }, "run"), " box · ",
      h("span", { cls: "kind k-model" }, "model"), " hexagon. Red border ✕ = errors, amber ! = warnings. Click or press Enter on a node to re-centre.",
      FED ? [" Edges: ", h("span", { cls: "lg-cross", tid: "legend-cross" }, h("span", { cls: "lg-line", "aria-hidden": "true" }), "across workspaces"),
        " (dashed, coloured); each node's last line names its workspace."] : null);
  }
  function lineageTable(lay, aggregated) {
    var nodeRows = lay.nodes.map(function (n) {
      return h("tr", null, h("td", null, n.kind), h("td", { cls: "wrap" }, aggregated ? h("a", { href: n._href || "#/" }, n.label) : refLink(n.ref)),
        FED ? h("td", { cls: "mono wrap" }, n.ws || "—") : null,
        h("td", { cls: "num" }, String(n.layer)), h("td", null, n.health), h("td", null, n.badges.join(", ") || "—"));
    });
    lay.more.forEach(function (m) {
      nodeRows.push(h("tr", null, h("td", null, "more"), h("td", null, "+" + m.count + " more (not drawn)"), FED ? h("td", null, "—") : null,
        h("td", { cls: "num" }, String(m.layer)), h("td", null, "—"), h("td", null, "—")));
    });
    var edgeRows = lay.edges.slice(0, 1000).map(function (e) {
      var a = lay.pos.get(e[0]), b = lay.pos.get(e[1]), x = e[3] === true;
      return h("tr", { tid: "lineage-edge", "data-from": aggregated ? null : a.ref, "data-to": aggregated ? null : b.ref, "data-cross": x ? "1" : null, cls: x ? "xrow" : null },
        h("td", { cls: "mono wrap" }, aggregated ? a.label : a.ref), h("td", { cls: "mono wrap" }, aggregated ? b.label : b.ref), h("td", null, String(e[2])),
        FED ? h("td", { cls: "wrap" }, x ? h("span", { cls: "xmark" }, "⇄ yes: " + (a.home || "?") + " → " + (b.home || "?")) : "no") : null);
    });
    return h("details", { cls: "card lintable", open: true }, h("summary", null, "Table of nodes (" + lay.nodes.length + ") and edges (" + lay.edges.length + ")"),
      h("div", { tid: "lineage-table" },
        h("div", { cls: "tscroll" }, h("table", { cls: "data" }, h("caption", null, "Nodes"),
          h("thead", null, h("tr", null, ["Kind", "Record"].concat(FED ? ["Workspace"] : [], ["Layer", "Health", "State / signature"]).map(function (x) { return h("th", { scope: "col" }, x); }))),
          h("tbody", null, nodeRows))),
        h("div", { cls: "tscroll" }, h("table", { cls: "data" }, h("caption", null, "Edges (data flows from → to)"),
          h("thead", null, h("tr", null, ["From", "To", "Kind"].concat(FED ? ["Across workspaces"] : []).map(function (x) { return h("th", { scope: "col" }, x); }))),
          h("tbody", null, edgeRows)))));
  }
  function lineageOverview() {
    var v = h("div", { tid: "view-lineage", cls: "view lineage" });
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", null, "Workspace lineage"),
      h("p", { cls: "muted meta" }, "Aggregated: one node per dataset name, experiment and model name; runs are folded into their experiment. Open a node for its record-level lineage.")));
    // Aggregate every record into its group so the graph size follows names, not versions or runs.
    // Federated, groups stay within their workspace (team-a/dataset:iris): two members' names are not one.
    var groupOf = function (ref) {
      var p = parseRef(ref), k = p.kind, s = p.name, ns = p.ws ? p.ws + "/" : "";
      if (k === "dataset" || k === "model") { var at = s.lastIndexOf("@"); return ns + k + ":" + (at > 0 ? s.slice(0, at) : s); }
      if (k === "run") { var rr = REC[ref], ex = rr && rr.attrs && rr.attrs.experiment; return typeof ex === "string" && ex ? ex : ns + "runs:(no experiment)"; }
      return ref;
    };
    var groups = new Map(), latest = new Map();
    Object.keys(REC).forEach(function (ref) {
      var gk = groupOf(ref);
      groups.set(gk, (groups.get(gk) || 0) + 1);
      var cur = latest.get(gk);
      if (!cur || verCmp(ref, cur) > 0) latest.set(gk, ref);
    });
    var eAgg = new Map();
    (D.edges || []).forEach(function (e) {
      var a = groupOf(e[0]), b = groupOf(e[1]);
      if (a === b) return;
      var key = a + "\u0000" + b;
      var x = eAgg.get(key);
      // [from, to, kind, crosses workspaces, how many record edges]
      if (x) { x[4]++; if (e[3] === true) x[3] = true; } else eAgg.set(key, [a, b, e[2], e[3] === true, 1]);
    });
    var edges = Array.from(eAgg.values());
    // Longest-path layering, capped so a cycle in hostile data cannot spin forever.
    var layer = new Map();
    groups.forEach(function (c, gk) { layer.set(gk, 0); });
    for (var pass = 0; pass < 12; pass++) {
      var moved = false;
      for (var i = 0; i < edges.length; i++) {
        var la = layer.get(edges[i][0]), lb = layer.get(edges[i][1]);
        if (lb <= la && la < 10) { layer.set(edges[i][1], la + 1); moved = true; }
      }
      if (!moved) break;
    }
    var lay = buildLayout(layer, edges, null, function (gk) {
      var k = refKind(gk), kind = k === "runs" ? "run" : k;
      var n = groups.get(gk) || 0;
      var latestRef = latest.get(gk);
      var r = REC[latestRef] || {};
      var info = { ref: gk, kind: kind, label: refShort(gk), health: healthBucket(recHealth(r)), badges: [],
        count: kind === "experiment" ? plural(n - 1, "run") : kind === "run" ? plural(n, "run") : plural(n, "version"),
        ws: FED ? (latestRef ? nodeWs(latestRef) : refWs(gk)) : "", home: FED ? (latestRef ? recWs(latestRef) : refWs(gk)) : "" };
      if (kind === "model" && r.attrs && r.attrs.state) info.badges.push(String(r.attrs.state));
      info._href = kind === "run" ? "#/runs" + buildQuery({ "f.experiment": ["(none)"], "f.workspace": FED && refWs(gk) ? [refWs(gk)] : [] }) : lineageHash(latestRef);
      return info;
    });
    if (!lay.nodes.length) { v.appendChild(empty("No records yet.")); return v; }
    v.appendChild(h("p", { cls: "muted" }, groups.size + " groups from " + Object.keys(REC).length + " records, " + edges.length + " aggregated edges."));
    v.appendChild(h("div", { cls: "graphwrap" }, drawGraph(lay, null, function (gk, n) { return n._href; }, "Aggregated workspace lineage: " + lay.nodes.length + " groups drawn; the table below lists them")));
    v.appendChild(legend());
    v.appendChild(lineageTable(lay, true));
    return v;
  }
  function verCmp(a, b) {
    var va = Number(a.slice(a.lastIndexOf("@") + 1)), vb = Number(b.slice(b.lastIndexOf("@") + 1));
    if (isFinite(va) && isFinite(vb) && va !== vb) return va - vb;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /* ---------- compare ---------- */
  // What a record brings to a comparison is strataml compare's own (strataml/read/compare.py
  // values(), in the payload): the page only lays it out.
  var COMPARE_GROUPS = [["record", "Record"], ["metrics", "Metrics"], ["params", "Params"], ["inputs", "Inputs"], ["code", "Code"], ["environment", "Environment"]];
  function valuesOf(ref) {
    var c = (REC[ref] || {}).compare || {};
    var out = {};
    COMPARE_GROUPS.forEach(function (g) { out[g[0]] = c[g[0]] && typeof c[g[0]] === "object" ? c[g[0]] : {}; });
    out.better = c.better && typeof c.better === "object" ? c.better : {};
    return out;
  }
  function compareView(q) {
    var refs = qlist(q, "refs");
    var v = h("div", { tid: "view-compare", cls: "view compare" });
    // Each ref as the record view reads it (model:NAME is its newest version), once: the API
    // compares the same, and refuses a record given twice.
    var known = [], unknown = [];
    refs.forEach(function (r) {
      var found = resolve(r);
      if (!REC[found] && REC["run:" + r]) found = "run:" + r; // (a bare run id, as strataml compare takes one)
      if (REC[found] && (refKind(found) === "run" || refKind(found) === "model") && known.indexOf(found) < 0 && known.length < 20) known.push(found);
      else if (!(REC[found] && known.indexOf(found) >= 0)) unknown.push(r);
    });
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", null, known.length ? "Compare " + known.length + " " + (known.every(function (r) { return refKind(r) === "model"; }) ? "models" : "records") : "Compare"),
      h("p", { cls: "muted meta" }, "Best value per metric is marked ★ (which way is better: the experiment's gates, else its plugin; as strataml compare marks it).")));
    if (unknown.length) v.appendChild(h("p", { cls: "warnline" }, "Ignored (not a run or model " + HERE + ", or over 20): " + unknown.map(function (r) { return clip(r, 80); }).join(", ")));
    var diffOnly = q.diff === "1";
    if (known.length >= 2) {
      var cb = h("input", { type: "checkbox", tid: "diff-only", id: "diff-only" });
      cb.checked = diffOnly;
      var holder = h("div");
      var draw = function () { holder.replaceChildren(compareTable(known, cb.checked)); };
      cb.addEventListener("change", function () {
        var nq = Object.assign({}, q); if (cb.checked) nq.diff = "1"; else delete nq.diff;
        history.replaceState(null, "", "#/compare?" + Object.keys(nq).map(function (k) { return k + "=" + nq[k]; }).join("&"));
        draw();
      });
      v.appendChild(h("div", { cls: "toolbar" }, h("label", { "for": "diff-only", cls: "check" }, cb, " Differences only")));
      draw();
      v.appendChild(holder);
    } else if (!q.experiment) {
      v.appendChild(h("p", { cls: "card" }, "Pick 2 to 20 runs or model versions with the checkboxes in the ", h("a", { href: "#/runs" }, "runs"), " or ",
        h("a", { href: "#/models" }, "models"), " table, then press Compare."));
    }
    v.appendChild(experimentChart(q, known));
    return v;
  }
  function compareTable(refs, diffOnly) {
    var vals = refs.map(valuesOf);
    // A direction counts where every record that knows the metric says the same.
    var better = Object.create(null), clash = Object.create(null);
    vals.forEach(function (x) { Object.keys(x.better).forEach(function (k) {
      if (k in better && better[k] !== x.better[k]) clash[k] = 1; else better[k] = x.better[k];
    }); });
    Object.keys(clash).forEach(function (k) { delete better[k]; });
    var head = h("tr", null, h("th", { scope: "col" }, "Key"), refs.map(function (r) {
      return h("th", { scope: "col" }, refLink(r, clip(nameOf(r), 40)));
    }));
    var rows = [];
    function group(gname, title, keys, getter, isMetric) {
      if (!keys.length) return;
      var body = [];
      keys.forEach(function (k) {
        var cells = vals.map(function (x) { return own(getter(x), k); });
        // Full precision here: comparing is about the digits a rounded table would hide.
        var strs = cells.map(function (c) { return c === null || c === undefined ? "—" : typeof c === "object" ? JSON.stringify(c) : String(c); });
        var same = strs.every(function (s) { return s === strs[0]; });
        if (diffOnly && same) return;
        var best = null;
        if (isMetric && !same) {
          var nums = cells.filter(function (c) { return typeof c === "number" && isFinite(c); });
          if (nums.length >= 2 && better[k]) best = better[k] === "lower" ? Math.min.apply(null, nums) : Math.max.apply(null, nums);
        }
        body.push(h("tr", { tid: "compare-row", "data-group": gname, "data-key": k, cls: same ? "same" : "diff" }, h("th", { scope: "row", cls: "mono" }, k),
          cells.map(function (c, i) {
            var isBest = best !== null && c === best;
            return h("td", { cls: (typeof c === "number" ? "num" : "wrap") + (isBest ? " best" : ""), "data-best": isBest ? "1" : null },
              longText(strs[i], 4000), isBest ? h("span", { cls: "star", "aria-label": " best" }, " ★") : null);
          })));
      });
      if (body.length) { rows.push(h("tr", { cls: "grouprow" }, h("th", { colspan: String(refs.length + 1), scope: "colgroup" }, title))); rows = rows.concat(body); }
    }
    function union(get) {
      var s = Object.create(null);
      vals.forEach(function (x) { Object.keys(get(x)).forEach(function (k) { s[k] = 1; }); });
      return Object.keys(s).sort();
    }
    COMPARE_GROUPS.forEach(function (g) {
      group(g[0], g[1], union(function (x) { return x[g[0]]; }), function (x) { return x[g[0]]; }, g[0] === "metrics");
    });
    var t = h("table", { cls: "data compare-t", tid: "compare-table" }, h("thead", null, head), h("tbody", null, rows));
    if (!rows.length) return h("div", null, t, empty("No differences."));
    return h("div", { cls: "tscroll" }, t);
  }
  // An experiment as the chart's picker names it: NAME, or WORKSPACE/NAME on a federated page
  // (each member's runs are their own experiment's, even where two members share its name).
  function expKey(ws, name) { return FED && ws ? ws + "/" + name : name; }
  function expRef(key) {
    var sl = FED ? key.indexOf("/") : -1;
    return sl >= 0 ? key.slice(0, sl) + "/experiment:" + key.slice(sl + 1) : "experiment:" + key;
  }
  function experimentChart(q, refs) {
    var exps = (TABLES.experiments || []).map(function (e) { return expKey(e.workspace, e.name); });
    var runsBy = Object.create(null);
    (TABLES.runs || []).forEach(function (r) { if (r.experiment) { var ek = expKey(r.workspace, r.experiment); (runsBy[ek] || (runsBy[ek] = [])).push(r); } });
    Object.keys(runsBy).forEach(function (e) { if (exps.indexOf(e) < 0) exps.push(e); });
    exps.sort();
    var exp = qget(q, "experiment");
    if (!exp) {
      for (var i = 0; i < refs.length && !exp; i++) {
        var ra = (REC[refs[i]] || {}).attrs || {};
        var ex = refKind(refs[i]) === "run" ? ra.experiment : REC[ra.produced_by] && REC[ra.produced_by].attrs.experiment;
        if (typeof ex === "string") exp = expKey(refWs(ex), refShort(ex));
      }
    }
    if (!exp && exps.length) exp = exps[0];
    var runs = (runsBy[exp] || []).slice().sort(function (a, b) { return a.created < b.created ? -1 : a.created > b.created ? 1 : 0; });
    var mset = Object.create(null);
    runs.forEach(function (r) { for (var k in (r.metrics || {})) mset[k] = 1; });
    var mnames = Object.keys(mset).sort();
    var metric = qget(q, "metric");
    if (mnames.indexOf(metric) < 0) {
      var gates = ((REC[expRef(exp)] || {}).attrs || {}).gates;
      gates = Array.isArray(gates) ? gates.filter(function (g) { return typeof g === "string"; }) : [];
      var gm = gates.map(function (g) { return String(g).split(/[\s<>=!]/)[0]; }).filter(function (n) { return mnames.indexOf(n) >= 0; });
      metric = gm[0] || mnames[0] || "";
    }
    var expSel = h("select", { id: "chart-exp", tid: "chart-experiment" }, exps.map(function (e) { return h("option", { value: e }, e); }));
    expSel.value = exp;
    var mSel = h("select", { id: "chart-metric", tid: "chart-metric" }, mnames.map(function (m) { return h("option", { value: m }, m); }));
    mSel.value = metric;
    function change(which) {
      var nq = Object.assign({}, q);
      nq.experiment = enc(expSel.value);
      if (which === "metric") nq.metric = enc(mSel.value); else delete nq.metric;
      go("#/compare?" + Object.keys(nq).map(function (k) { return k + "=" + nq[k]; }).join("&"));
    }
    expSel.addEventListener("change", function () { change("exp"); });
    mSel.addEventListener("change", function () { change("metric"); });
    var pts = [], marks = [];
    runs.forEach(function (r) {
      var t = Date.parse(r.created), y = r.metrics ? r.metrics[metric] : undefined;
      if (!isFinite(t) || typeof y !== "number" || !isFinite(y)) return;
      pts.push([t, y]);
      if (refs.indexOf(r.id) >= 0) marks.push([t, y, r.id + ": " + fmtNum(y)]);
    });
    var body = exps.length ? [
      h("div", { cls: "toolbar" }, h("label", { "for": "chart-exp" }, "Experiment "), expSel, h("label", { "for": "chart-metric" }, "Metric "), mSel),
      pts.length ? h("figure", { cls: "bigchart" }, (function () {
        var c = lineChart(pts, metric + " across " + exp + " runs over time", 760, 240, { dots: true, noLine: pts.length > 400, marks: marks, xfmt: function (t) { return new Date(t).toISOString().slice(0, 10); } });
        c.setAttribute("data-testid", "metric-chart");
        return c;
      })(), h("figcaption", { cls: "muted" }, metric + " for " + plural(pts.length, "run") + " of " + exp + " by creation time" + (marks.length ? "; circles mark the compared runs." : "."))) :
        h("p", { cls: "muted", tid: "metric-chart" }, "No run of " + exp + " has " + (metric || "metrics") + ".")
    ] : empty("No experiments " + HERE + ".");
    return section("Metric across an experiment's runs", "experiment-chart", body);
  }

  /* ---------- rules ---------- */
  function rulesView(q) {
    var rules = D.rules || [];
    var contract = qget(q, "contract"), severity = qget(q, "severity");
    // (A value no finding can have listed none and read as a clean workspace: said, then ignored.)
    var unknown = severity && ["error", "warning", "info"].indexOf(severity) < 0 ? severity : "";
    if (unknown) severity = "";
    var v = h("div", { tid: "view-rules", cls: "view" });
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", null, "Rules"), h("p", { cls: "muted meta" }, rules.length + " rules from the contracts; the same text as `strataml doctor --explain CODE`.")));
    var counts = {}, found = [];
    FINDINGS.forEach(function (f, i) {
      counts[f.code] = (counts[f.code] || 0) + 1;
      if (severity && f.severity === severity) found.push([f, ownerOf(i)]);
    });
    var contracts = [];
    rules.forEach(function (r) { if (contracts.indexOf(r.contract) < 0) contracts.push(r.contract); });
    v.appendChild(h("div", { cls: "toolbar chipsbar" }, h("a", { href: "#/rules", cls: "chip" + (contract || severity ? "" : " on") }, "All"),
      contracts.map(function (c) { return h("a", { href: "#/rules" + buildQuery({ contract: c }), cls: "chip" + (c === contract ? " on" : "") }, String(c)); }),
      ["error", "warning", "info"].map(function (s) { return h("a", { href: "#/rules" + buildQuery({ severity: s }), cls: "chip" + (s === severity ? " on" : "") }, s + "s"); })));
    if (unknown) v.appendChild(h("p", { cls: "muted", tid: "unknown-severity" }, "No severity “" + clip(unknown, 40) + "”: a finding is an error, a warning or an info."));
    if (severity) v.appendChild(section(plural(found.length, severity) + " " + HERE, "severity-findings", found.length ? ownedFindings(found) : h("p", { cls: "ok-line" }, "✓ No " + severity + " " + HERE + ".")));
    var broken = Object.create(null);  // the codes of the findings listed (a scan of every finding per rule was rules x findings)
    found.forEach(function (x) { broken[x[0].code] = true; });
    var list = rules.filter(function (r) { return (!contract || r.contract === contract) && (!severity || broken[r.code]); });
    v.appendChild(table(["Code", "Severity", "Name", "Summary", FED ? "In these workspaces" : "In this workspace"], list.map(function (r) {
      return h("tr", null, h("td", { cls: "nowrap" }, h("a", { href: "#/rules/" + enc(r.code), cls: "mono" }, r.code)),
        h("td", null, h("span", { cls: "sev sev-" + r.severity }, fmtVal(r.severity))), h("td", { cls: "mono" }, fmtVal(r.name)),
        h("td", { cls: "wrap" }, inlineMd(String(r.summary || ""))), h("td", { cls: "num" + (counts[r.code] ? " t-err" : "") }, String(counts[r.code] || 0)));
    }), "rules"));
    return v;
  }
  function ruleView(code) {
    var r = (D.rules || []).filter(function (x) { return x.code === code; })[0];
    if (!r) return notFound("No rule “" + clip(code, 80) + "”.", null, (D.rules || []).map(function (x) { return x.code; }), function (c) { return "#/rules/" + enc(c); });
    var v = h("div", { tid: "view-rule", cls: "view" });
    v.appendChild(h("div", { cls: "titlebar" }, h("h1", { cls: "mono" }, r.code),
      h("div", { cls: "chips" }, h("span", { cls: "sev sev-" + r.severity }, fmtVal(r.severity)), badge(String(r.contract)), badge(r.enforced ? "enforced " + r.enforced_note : String(r.enforced_note || "not enforced"))),
      h("p", { cls: "muted meta" }, h("span", { cls: "mono" }, fmtVal(r.name)), " · ", h("span", { cls: "mono" }, fmtVal(r.document)), " · ", h("a", { href: "#/rules" }, "All rules"))));
    v.appendChild(h("p", { cls: "lead" }, inlineMd(String(r.summary || ""))));
    v.appendChild(h("div", { cls: "card md" }, markdown(String(r.body || ""))));
    var hits = [];
    FINDINGS.forEach(function (f, i) { if (f.code === code) hits.push([f, ownerOf(i)]); });
    v.appendChild(section("Findings " + HERE, "rule-findings", hits.length ? ownedFindings(hits) : h("p", { cls: "ok-line" }, "✓ Nothing " + HERE + " breaks this rule.")));
    return v;
  }
  // Findings with the record each is about: [finding, owner ref or null] pairs, 500 at most.
  function ownedFindings(hits) {
    var shown = hits.slice(0, 500);
    return [findingsTable(shown.map(function (x) { return x[0]; }), shown.map(function (x) { return x[1]; })),
      hits.length > 500 ? h("p", { cls: "muted" }, "and " + (hits.length - 500) + " more: `strataml doctor` lists them all.") : null];
  }
  // A deliberately tiny Markdown subset: paragraphs, "- " lists and `code`, all as DOM nodes.
  function markdown(src) {
    var out = [], para = [], list = null;
    function flush() {
      if (para.length) { out.push(h("p", null, inlineMd(para.join(" ")))); para = []; }
      if (list) { out.push(list); list = null; }
    }
    src.split(/\r?\n/).forEach(function (line) {
      var m = /^\s*[-*]\s+(.*)$/.exec(line);
      if (m) { if (para.length) { out.push(h("p", null, inlineMd(para.join(" ")))); para = []; } if (!list) list = h("ul"); list.appendChild(h("li", null, inlineMd(m[1]))); return; }
      if (!line.trim()) { flush(); return; }
      if (list && /^\s{2,}/.test(line)) { list.lastChild.appendChild(document.createTextNode(" ")); add(list.lastChild, inlineMd(line.trim())); return; }
      if (list) { out.push(list); list = null; }
      var hm = /^#{1,6}\s+(.*)$/.exec(line);
      if (hm) { flush(); out.push(h("h3", null, inlineMd(hm[1]))); return; }
      para.push(line.trim());
    });
    flush();
    return out;
  }
  function inlineMd(s) {
    var parts = String(s).split("`"), out = [];
    parts.forEach(function (p, i) { if (p) out.push(i % 2 && i < parts.length - 1 ? h("code", null, p) : p); });
    return out;
  }

  /* ---------- not found ---------- */
  function notFound(msg, wanted, pool, hrefOf) {
    var v = h("div", { tid: "view-notfound", cls: "view" });
    v.appendChild(h("h1", null, "Not found"));
    v.appendChild(h("p", null, msg));
    var target = wanted || parseHash(location.hash).rest || parseHash(location.hash).head;
    var near = closest(String(target || ""), pool || Object.keys(REC), 6);
    if (near.length) v.appendChild(section("Closest matches", "closest", h("ul", { cls: "nlist" }, near.map(function (r) {
      return h("li", null, hrefOf ? h("a", { href: hrefOf(r), cls: "mono" }, r) : refLink(r));
    }))));
    v.appendChild(h("p", null, h("a", { href: "#/", cls: "btn primary" }, "Go to the overview")));
    return v;
  }
  function closest(s, pool, n) {
    s = s.toLowerCase();
    if (!s) return [];
    var grams = function (x) { var g = new Set(); for (var i = 0; i < x.length - 1; i++) g.add(x.substr(i, 2)); return g; };
    var gs = grams(s), scored = [];
    for (var i = 0; i < pool.length; i++) {
      var p = String(pool[i]).toLowerCase(), c = 0;
      for (var j = 0; j < p.length - 1; j++) if (gs.has(p.substr(j, 2))) c++;
      var sc = (2 * c) / (gs.size + Math.max(1, p.length - 1)) + (p.indexOf(s) >= 0 || s.indexOf(p) >= 0 ? 1 : 0);
      if (sc > 0.25) scored.push([sc, pool[i]]);
    }
    scored.sort(function (a, b) { return b[0] - a[0] || (a[1] < b[1] ? -1 : 1); });
    return scored.slice(0, n).map(function (x) { return x[1]; });
  }

  /* ---------- boot ---------- */
  // Parsing a 10k-record payload is one long task already; drawing the first view in the next task
  // keeps either under the 200 ms budget instead of adding them up.
  setTimeout(function () {
    buildChrome();
    window.addEventListener("hashchange", render);
    render();
    performance.mark("strataml:ready");
  }, 0);
  window.strataml = {
    data: D,
    route: function (hash) { history.pushState(null, "", hash); render(); },
    search: searchAll
  };
  }
})();
