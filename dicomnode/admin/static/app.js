// dicomnode admin page: a small vanilla-JS client of the JSON API (no framework, no build, no CDN).
// Times are shown in the browser's local time with the UTC value on hover; tables sort by a click on
// a column header; pages follow the API's cursors. The token, when one is needed, stays in this tab's
// sessionStorage and is sent as "Authorization: Bearer".
"use strict";

const TOKEN_KEY = "dicomnode-admin-token";
const views = {};

function $(selector, root = document) { return root.querySelector(selector); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text, kind = "info") {
  const box = $("#message");
  box.textContent = text;
  box.className = kind;
}

function timeCell(iso) {
  if (!iso) return el("span", { class: "muted" }, "–");
  const when = new Date(iso);
  return el("time", { dateTime: iso, title: iso.replace("T", " ").replace("Z", " UTC") }, when.toLocaleString());
}

function uidCell(uid) {
  return uid ? el("code", { class: "uid", title: uid }, uid) : el("span", { class: "muted" }, "–");
}

function badge(text, kind) { return el("span", { class: `badge ${kind || text}` }, text); }

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (response.status === 401) {
    $("#token-form").hidden = false;
    throw new Error("the admin token is needed (or was wrong)");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response;
}

// ---- tables: rendering, sorting, cursor pages ------------------------------------------------

class TableView {
  constructor(name, path, renderRow, sortValue) {
    this.name = name;
    this.path = path;
    this.renderRow = renderRow;
    this.sortValue = sortValue || ((item, key) => item[key]);
    this.table = $(`#${name}-table`);
    this.pager = $(`.pager[data-for="${name}"]`);
    this.cursors = [null];  // cursor of each page seen; index = page number - 1
    this.page = 0;
    this.items = [];
    this.sort = null;
    this.query = {};
    for (const th of this.table.tHead.rows[0].cells) {
      if (!th.dataset.key) continue;
      th.tabIndex = 0;
      th.title = "Sort by this column";
      th.addEventListener("click", () => this.sortBy(th));
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") this.sortBy(th); });
    }
  }

  filter(query) { this.query = query; this.cursors = [null]; this.page = 0; return this.load(); }

  url(extra = {}) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...this.query, ...extra })) if (v) params.set(k, v);
    const cursor = this.cursors[this.page];
    if (cursor && !("cursor" in extra)) params.set("cursor", cursor);
    return `${this.path}?${params}`;
  }

  async load() {
    try {
      const data = await (await api(this.url())).json();
      this.items = data.items;
      this.cursors[this.page + 1] = data.next_cursor;
      this.render();
    } catch (error) { say(`${this.name}: ${error.message}`, "error"); }
  }

  sortBy(th) {
    const key = th.dataset.key;
    const ascending = this.sort && this.sort.key === key ? !this.sort.ascending : true;
    this.sort = { key, ascending, type: th.dataset.type };
    for (const cell of this.table.tHead.rows[0].cells) cell.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    this.render();
  }

  sorted() {
    if (!this.sort) return this.items;
    const { key, ascending, type } = this.sort;
    const value = (item) => {
      const v = this.sortValue(item, key);
      if (v === null || v === undefined) return type === "number" ? -Infinity : "";
      return type === "number" ? Number(v) : Array.isArray(v) ? v.join(",") : String(v);
    };
    const out = [...this.items].sort((a, b) => (value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : 0));
    return ascending ? out : out.reverse();
  }

  render() {
    const body = this.table.tBodies[0];
    body.replaceChildren(...this.sorted().map((item) => this.renderRow(item)));
    if (!this.items.length) {
      const columns = this.table.tHead.rows[0].cells.length;
      body.append(el("tr", {}, el("td", { colSpan: columns, class: "muted empty" }, "Nothing to show.")));
    }
    const newer = el("button", { type: "button", class: "newer", disabled: this.page === 0 }, "← Newer");
    const older = el("button", { type: "button", class: "older", disabled: !this.cursors[this.page + 1] }, "Older →");
    newer.addEventListener("click", () => { this.page -= 1; this.load(); });
    older.addEventListener("click", () => { this.page += 1; this.load(); });
    this.pager.replaceChildren(newer, el("span", { class: "page" }, `page ${this.page + 1}`), older);
  }
}

// ---- the four views ----------------------------------------------------------------------------

function auditRow(e) {
  return el("tr", { "data-id": e.id },
    el("td", {}, timeCell(e.at)), el("td", {}, e.event_type), el("td", {}, badge(e.outcome)),
    el("td", {}, e.actor_ae || ""), el("td", {}, e.actor_host || ""), el("td", {}, uidCell(e.study_uid)),
    el("td", { class: "message" }, e.message));
}

const FINDING_NAMES = { ich_ct: "ICH", cmb_swi: "CMB" };

// One pipeline's verdict: "ICH" / "no ICH", "CMB" / "no CMB" (headline as tooltip), else its job state.
function pipelineBadge(name, block) {
  const finding = FINDING_NAMES[name] || name;
  const title = block.headline || block.reason || "";
  if (block.positive === true) return el("span", { title }, badge(finding, "positive"));
  if (block.positive === false) return el("span", { title }, badge(`no ${finding}`, "negative"));
  return el("span", { title }, badge(`${finding}: ${block.state}`, block.state));
}

function resultBadge(result) {
  if (result.state === "not analysed") return el("span", { title: result.reason || "" }, badge("not analysed", "none"));
  const blocks = Object.entries(result.pipelines || {});
  if (blocks.length === 0) return badge(result.state, result.state);
  return el("span", {}, ...blocks.map(([name, block]) => pipelineBadge(name, block)));
}

function studyRow(s) {
  const p = s.result.probabilities || {};
  const subtypes = Object.entries(p).filter(([k]) => k !== "any")
    .map(([k, v]) => el("span", { class: "prob", title: k }, `${k.slice(0, 4)} ${v.toFixed(2)}`));
  const objects = (s.result.objects || []).map((o) => o.href
    ? el("a", { href: o.href, title: o.sop_instance_uid, class: "object" }, o.kind)
    : el("span", { title: o.sop_instance_uid, class: "object muted" }, o.kind));
  return el("tr", { "data-study": s.study_uid },
    el("td", {}, timeCell(s.last_received)), el("td", {}, uidCell(s.study_uid)),
    el("td", {}, s.modalities.join(", ")), el("td", {}, s.calling_aes.join(", ")),
    el("td", { class: "num" }, s.series), el("td", { class: "num" }, s.instances),
    el("td", {}, resultBadge(s.result), s.result.state !== "not analysed" && s.result.ich !== null
      ? el("span", { class: "muted small" }, ` job ${s.result.result_job_id}`) : null),
    el("td", { class: "num" }, p.any === undefined ? "–" : p.any.toFixed(2)),
    el("td", {}, subtypes), el("td", {}, objects));
}

function actionButton(label, cls, id, enabled, onClick) {
  const button = el("button", { type: "button", class: cls, "data-id": id, disabled: !enabled }, label);
  button.addEventListener("click", () => onClick(id, button));
  return button;
}

async function post(path, what) {
  try {
    await api(path, { method: "POST", headers: { "X-Requested-By": "dicomnode-admin-page" } });
    say(`${what}: done`, "ok");
    return true;
  } catch (error) { say(`${what}: ${error.message}`, "error"); return false; }
}

function jobRow(j) {
  // a "none" job records a series no pipeline reads: nothing could run it again
  const retryable = ["succeeded", "failed", "skipped"].includes(j.state) && !j.superseded_by && j.pipeline !== "none";
  const retry = actionButton("Retry", "retry", j.id, retryable, async (id, button) => {
    button.disabled = true;
    if (await post(`/api/jobs/${id}/retry${j.state === "skipped" ? "?force=true" : ""}`, `retry job ${id}`)) {
      views.jobs.load();
    } else button.disabled = false;
  });
  return el("tr", { "data-id": j.id },
    el("td", { class: "num" }, j.id), el("td", {}, j.pipeline || ""), el("td", {}, badge(j.state)),
    el("td", {}, timeCell(j.created_at)),
    el("td", {}, timeCell(j.finished_at)), el("td", {}, uidCell(j.series_uid)),
    el("td", { class: "num" }, j.instances), el("td", { class: "num" }, `${j.attempts}/${j.max_attempts}`),
    el("td", { class: "message" }, j.error || j.reason || (j.superseded_by ? `superseded by ${j.superseded_by}` : "")),
    el("td", {}, retry));
}

function outboxRow(o) {
  const resend = actionButton("Resend", "resend", o.id, o.resendable !== false, async (id, button) => {
    button.disabled = true;
    if (await post(`/api/outbox/${id}/resend`, `resend entry ${id}`)) views.outbox.load();
    else button.disabled = false;
  });
  return el("tr", { "data-id": o.id },
    el("td", { class: "num" }, o.id), el("td", {}, badge(o.state)), el("td", {}, o.destination || ""),
    el("td", {}, el("span", { class: "small" }, `${o.kind} `), uidCell(o.sop_instance_uid)),
    el("td", { class: "num" }, o.attempts ?? ""),
    el("td", {}, timeCell(o.updated_at)), el("td", { class: "message" }, o.error || ""), el("td", {}, resend));
}

// ---- filters, CSV export, token, tabs ----------------------------------------------------------

function formQuery(form) {
  const query = {};
  for (const [key, value] of new FormData(form)) {
    if (!value) continue;
    query[key] = form.elements[key].type === "datetime-local" ? new Date(value).toISOString() : value;
  }
  return query;
}

async function exportCsv() {
  const view = views.audit;
  try {
    const response = await api(view.url({ cursor: "" }), { headers: { Accept: "text/csv" } });
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "audit.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) { say(`CSV export: ${error.message}`, "error"); }
}

function show(name) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.dataset.view !== name;
  for (const tab of document.querySelectorAll("nav a")) {
    tab.classList.toggle("active", tab.dataset.view === name);
    if (tab.dataset.view === name) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  views[name].load();
}

function currentView() {
  const name = location.hash.slice(1);
  return name in views ? name : "audit";
}

document.addEventListener("DOMContentLoaded", () => {
  views.audit = new TableView("audit", "/api/audit", auditRow);
  views.studies = new TableView("studies", "/api/studies", studyRow, (s, key) =>
    key === "result" ? (s.result.ich === true ? "1" : s.result.ich === false ? "2" : `3${s.result.state}`)
      : key === "any" ? (s.result.probabilities || {}).any : s[key]);
  views.jobs = new TableView("jobs", "/api/jobs", jobRow);
  views.outbox = new TableView("outbox", "/api/outbox", outboxRow);
  views.audit.query = { limit: "50" };

  const auditForm = $("#audit-filter");
  auditForm.addEventListener("submit", (e) => { e.preventDefault(); say(""); views.audit.filter(formQuery(auditForm)); });
  auditForm.addEventListener("reset", () => setTimeout(() => views.audit.filter(formQuery(auditForm)), 0));
  $("#audit-csv").addEventListener("click", exportCsv);
  for (const name of ["jobs", "outbox"]) {
    const form = $(`#${name}-filter`);
    form.addEventListener("submit", (e) => { e.preventDefault(); views[name].filter(formQuery(form)); });
  }
  $("#token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token-input").value);
    $("#token-form").hidden = true;
    say("");
    show(currentView());
  });
  window.addEventListener("hashchange", () => show(currentView()));
  show(currentView());
});
