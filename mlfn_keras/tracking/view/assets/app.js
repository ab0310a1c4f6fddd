"use strict";
// One script for the live page (data from /api/) and report.html (data embedded
// in #run-data, thumbnails as files beside the report): same cards, same timeline.
const $ = id => document.getElementById(id);
const EMBEDDED = JSON.parse($("run-data").textContent || "null");
const LIVE = EMBEDDED === null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, {cache: "no-store", credentials: "same-origin"});
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function dur(s) {
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
}

const state = {selected: null, cards: [], cameras: [], run: null, since: 0, generation: null, events: [], tilesBuilt: false};

// ---------------------------------------------------------------- rendering
function chip(id, colour) { return el("span", {class: "chip", style: `background:${colour}`}, `ID ${id}`); }

function pathLine(card) {
  const p = el("div", {class: "path"});
  card.path.forEach((v, i) => {
    if (i) p.append(el("span", {class: "travel"}, v.travel_s >= 0.5 ? ` \u2192 ${dur(v.travel_s)} \u2192 ` : " \u2192 "));
    p.append(el("span", {class: "cam"}, v.camera), ` ${v.from_clock}\u2013${v.to_clock}`);
  });
  return p;
}

function card(c) {
  const where = c.now.length ? el("span", {class: "here"}, `now in ${c.now.join(", ")}`)
                             : el("span", {class: "gone"}, `last seen ${c.last_seen.clock} in ${c.last_seen.camera}`);
  const crops = el("div", {class: "crops"});
  for (const [cam, url] of Object.entries(c.thumbnails || {})) {
    crops.append(el("figure", {}, el("img", {src: url, alt: `ID ${c.id} in ${cam}`, loading: "lazy"}), el("figcaption", {}, cam)));
  }
  const d = el("div", {class: "card" + (state.selected === c.id ? " selected" : ""), "data-id": c.id, tabindex: 0,
                       onclick: () => select(c.id), onkeydown: e => { if (e.key === "Enter") select(c.id); }},
    el("div", {class: "top"}, chip(c.id, c.colour), where),
    crops,
    pathLine(c),
    el("div", {class: "meta"}, `first seen ${c.first_seen.clock} in ${c.first_seen.camera} \u00b7 ${c.appearance_count} appearance${c.appearance_count === 1 ? "" : "s"}`));
  return d;
}

function renderGallery(cards) {
  const key = JSON.stringify(cards) + (state.run ? state.run.state : "");
  if (key === state.galleryKey) return;  // unchanged: keep the DOM (a click in progress is not lost)
  state.galleryKey = key;
  state.cards = cards;
  const running = LIVE && state.run && state.run.state === "running";  // while live: who is here, then most recent
  const sorted = running ? [...cards].sort((a, b) => (b.now.length > 0) - (a.now.length > 0) || b.last_seen.t - a.last_seen.t)
                         : [...cards].sort((a, b) => a.id - b.id);
  $("gallery").replaceChildren(...sorted.map(card));
  $("count").textContent = `(${cards.length})`;
}

function renderTimeline(c) {
  if (!c) { $("timeline").hidden = true; return; }
  $("timeline").hidden = false;
  $("tl-title").replaceChildren(chip(c.id, c.colour), ` seen ${c.appearances.length} time${c.appearances.length === 1 ? "" : "s"}`);
  $("tl-path").replaceChildren(pathLine(c));
  $("tl-list").replaceChildren(...c.appearances.map(a => el("li", {"data-camera": a.camera},
    a.thumbnail ? el("img", {src: a.thumbnail, alt: `ID ${c.id} in ${a.camera} at ${a.from_clock}`}) : null,
    el("div", {},
      el("div", {class: "when"}, `${a.from_clock}\u2013${a.to_clock}`),
      el("div", {}, `${a.camera}${a.now ? " \u00b7 here now" : ""}`),
      el("div", {class: "meta"}, `frames ${a.first_frame}\u2013${a.last_frame}, track ${a.track}`)))));
}

function renderTransitions(rows) {
  const key = JSON.stringify(rows);
  if (key === state.transitionsKey) return;
  state.transitionsKey = key;
  const body = $("transitions").tBodies[0];
  if (!rows.length) { body.replaceChildren(el("tr", {}, el("td", {colspan: 4, class: "dim"}, "nobody has moved between cameras yet"))); return; }
  body.replaceChildren(...rows.map(r => el("tr", {title: `IDs ${r.ids.join(", ")}`},
    el("td", {}, r.from), el("td", {}, r.to), el("td", {}, `${r.people}`), el("td", {}, r.median_travel_s > 0 ? dur(r.median_travel_s) : "at once"))));
}

function renderEvents(list) {
  const key = list.length ? `${list.length}:${list[list.length - 1].n}:${state.generation}` : "";
  if (key === state.eventsKey) return;
  state.eventsKey = key;
  const shown = list.slice(-300).reverse();
  $("events").replaceChildren(...shown.map(e => el("li", {"data-kind": e.kind}, el("span", {class: "t"}, e.clock), e.text)));
}

function renderSettings(run) {
  const rows = Object.entries(run.settings || {});
  $("settings").replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v)))));
  const s = run.scores;
  if (s && s.columns) {
    $("scores-box").hidden = false;
    const t = el("table", {}, el("thead", {}, el("tr", {}, ...s.columns.map(c => el("th", {}, c)))),
      el("tbody", {}, ...s.rows.map(r => el("tr", {}, ...r.map(v => el("td", {}, v))))));
    $("scores").replaceChildren(t, s.note ? el("p", {class: "meta"}, s.note) : "");
  }
}

function renderTiles(cams) {
  if (state.tilesBuilt || !cams.length) return;
  $("tiles").replaceChildren(...cams.map(c => el("div", {class: "tile", id: `tile-${c.index}`},
    el("img", {src: `/cam/${c.index}.mjpg`, alt: `camera ${c.name}`}),
    el("div", {class: "bar"}, el("b", {}, c.name), el("span", {class: "health"})))));
  state.tilesBuilt = true;
}

function renderHealth(cams) {
  for (const c of cams) {
    const tile = $(`tile-${c.index}`);
    if (!tile) continue;
    const stale = c.state === "live" && c.last_frame_age_s !== null && c.last_frame_age_s > 5;
    const st = stale ? "stale" : c.state.replace(" ", "-");
    const parts = [`${c.fps.toFixed(1)} FPS`];
    if (c.state === "live" || c.state === "waiting") parts.push(c.last_frame_age_s === null ? "no frame yet" : `last frame ${c.last_frame_age_s.toFixed(1)} s ago`);
    else parts.push(`${c.frames} frames`);
    if (c.reconnects) parts.push(`${c.reconnects} reconnect${c.reconnects === 1 ? "" : "s"}`);
    const h = tile.querySelector(".health");
    h.className = `health state-${st}`;
    h.textContent = `${stale ? "stalled" : c.state} \u00b7 ${parts.join(" \u00b7 ")}`;
    tile.querySelectorAll(".hl").forEach(x => x.remove());
    const img = tile.querySelector("img");
    if (state.selected === null || !c.size || !img.clientWidth) continue;
    const k = img.clientWidth / c.size[0];
    for (const o of c.objects.filter(o => o.id === state.selected)) {
      const [x1, y1, x2, y2] = o.box;
      tile.append(el("div", {class: "hl", style: `left:${x1 * k - 4}px;top:${y1 * k - 4}px;width:${(x2 - x1) * k + 8}px;height:${(y2 - y1) * k + 8}px`}));
    }
  }
}

function renderRun(run) {
  state.run = run;
  const ended = run.state !== "running";
  $("status").textContent = LIVE ? (ended ? `run ${run.state}` : "live") : `report \u00b7 run ${run.state}`;
  $("status").title = `${run.ticks} ticks (one frame from each camera per tick)`;
  $("clock").textContent = `${run.clock} (${run.clock_kind}) \u00b7 ${run.identities} people${run.final ? " (final ids)" : ""}`;
  if (LIVE && ended) {
    $("tiles").hidden = true;
    $("ended").hidden = false;
    $("ended").textContent = run.final
      ? "The run has ended. These are its final identities: the annotated videos, mot/, events.jsonl and report.html in the output folder use the same ids (ids.json maps the ids shown live). Press Ctrl-C where the demo runs to stop this page."
      : "The run has ended; these are the identities it gave.";
  }
}

// ------------------------------------------------------------------ actions
async function select(id) {
  state.selected = state.selected === id ? null : id;
  document.querySelectorAll(".card").forEach(c => c.classList.toggle("selected", Number(c.dataset.id) === state.selected));
  await refreshTimeline();
  renderHealth(state.cameras);
}

async function refreshTimeline() {
  if (state.selected === null) return renderTimeline(null);
  try {
    const c = LIVE ? await getJSON(`/api/identities/${state.selected}`) : EMBEDDED.identities.find(x => x.id === state.selected);
    renderTimeline(c || null);
  } catch (err) { renderTimeline(null); }
}

$("tl-close").addEventListener("click", () => select(state.selected));

// -------------------------------------------------------------------- loops
async function pollLive() {
  try {
    const s = await getJSON(`/api/live?since=${state.since}`);
    if (s.events.generation !== state.generation) { state.generation = s.events.generation; state.events = []; }
    state.events.push(...s.events.events);
    state.since = s.events.next;
    state.cameras = s.cameras;
    renderTiles(s.cameras);
    renderRun(s.run);
    renderHealth(s.cameras);
    renderEvents(state.events);
    const settingsKey = JSON.stringify([s.run.settings, s.run.scores]);
    if (settingsKey !== state.settingsKey) { renderSettings(s.run); state.settingsKey = settingsKey; }
  } catch (err) { $("status").textContent = "disconnected (demo stopped?)"; }
}

async function pollSlow() {
  try {
    renderGallery(await getJSON("/api/identities"));
    renderTransitions(await getJSON("/api/transitions"));
    await refreshTimeline();
  } catch (err) { /* pollLive reports the connection */ }
}

if (LIVE) {
  window.addEventListener("load", () => {
    pollLive(); pollSlow();
    setInterval(pollLive, 1000);
    setInterval(pollSlow, 2000);
  });
} else {
  renderRun(EMBEDDED.run);
  renderGallery(EMBEDDED.identities);
  renderTransitions(EMBEDDED.transitions);
  renderEvents(EMBEDDED.events);
  renderSettings(EMBEDDED.run);
  $("run-details").open = true;
}
