// forger studio pages: plain JavaScript over the JSON API (see README).
"use strict";

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

// api fetches JSON and throws an Error carrying the server's message.
async function api(url, opts) {
  const res = await fetch(url, opts);
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
  return body;
}

function markNav() {
  const page = document.body.dataset.page;
  for (const a of document.querySelectorAll("header a[data-nav]")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
  }
}

// Model picker shared by Generate and Explore: one entry per run (its
// newest checkpoint); "older checkpoints too" lists every checkpoint.
async function setupModels(onChange) {
  const sel = $("#model"), classBox = $("#class-box"), classSel = $("#class"), allBox = $("#all-checkpoints");
  let models = [];
  const load = async () => {
    const all = allBox && allBox.checked;
    try {
      models = (await api("/api/models" + (all ? "?all=1" : ""))).models;
    } catch (e) {
      sel.replaceChildren(el("option", { text: "models unavailable: " + e.message, value: "" }));
      models = [];
      return false;
    }
    sel.replaceChildren();
    if (models.length === 0) sel.append(el("option", { text: "no models on this server", value: "" }));
    for (const m of models) {
      const label = all || !m.checkpoint ? "" : ` (${m.checkpoint})`;
      sel.append(el("option", { value: m.name, text: `${m.title || m.name}${label} — ${m.size}×${m.size}, ${m.epochs} epochs` }));
    }
    const saved = localStorage.getItem("forger.model");
    if (saved && models.some((m) => m.name === saved)) sel.value = saved;
    return true;
  };
  if (allBox) allBox.checked = localStorage.getItem("forger.allCheckpoints") === "1";
  if (!(await load())) return () => null;
  const current = () => models.find((m) => m.name === sel.value) || null;
  const refresh = () => {
    const m = current();
    localStorage.setItem("forger.model", sel.value);
    const keepFirst = document.body.dataset.page === "generate";
    classSel.replaceChildren(...(keepFirst ? [el("option", { value: "", text: "all classes, in turn" })] : []));
    if (m && m.classes.length) {
      m.classes.forEach((c, i) => classSel.append(el("option", { value: String(i), text: c })));
      classBox.hidden = false;
    } else {
      classBox.hidden = true;
    }
    const info = $("#model-info");
    if (info && m) info.textContent = `${m.arch}, ${m.size}×${m.size}×${m.channels}, ${m.classes.length ? m.classes.length + " classes" : "no classes"}, ${m.epochs} epochs`;
    if (onChange) onChange(m);
  };
  sel.addEventListener("change", refresh);
  classSel.addEventListener("change", () => onChange && onChange(current()));
  if (allBox) {
    allBox.addEventListener("change", async () => {
      localStorage.setItem("forger.allCheckpoints", allBox.checked ? "1" : "0");
      await load();
      refresh();
    });
  }
  refresh();
  return current;
}

// Truncation ψ, shared by Generate and Explore: a slider bounded by the
// server's rule for the model (/api/generate, /api/image, /api/morph: 0 to
// 2, default 1 = off; 0, the average image, for stylegans only) and a box
// showing its value. A number in the box is sent as it is, in range or
// not: the server judges what the slider cannot show, and the page shows
// the server's error. Text that is no number is never sent (the API would
// answer in its own terms): the page says so itself.
function setupTruncation(onChange) {
  const range = $("#truncation-range"), box = $("#truncation"), info = $("#truncation-info");
  const number = (t) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t) && Number.isFinite(Number(t)) ? Number(t) : null);
  range.addEventListener("input", () => {
    box.value = range.value;
    if (onChange) onChange();
  });
  box.addEventListener("input", () => {
    const v = number(box.value.trim());
    if (v !== null) range.value = String(v); // the slider stops at its ends; the box keeps what was typed
  });
  box.addEventListener("change", () => {
    if (box.value.trim() === "") box.value = range.value = "1";
    if (onChange) onChange();
  });
  return {
    // setModel bounds the slider for model m: 0 for a stylegan, above 0 for
    // another (a 0 left from a stylegan becomes the slider's least).
    setModel(m) {
      const style = m && m.arch === "stylegan";
      range.min = style ? "0" : "0.05";
      info.textContent = style
        ? "1 = off; lower pulls w towards the average face, 0 is that face (0 to 2)"
        : "1 = off; lower shrinks z: plainer, surer images (above 0, up to 2)";
      const v = number(box.value.trim());
      if (v !== null && v >= 0 && v < Number(range.min)) box.value = range.value = range.min;
    },
    // value is the box's number, undefined when the box is empty (the
    // API's default, 1); it throws an Error with a plain message when the
    // box holds text that is no number.
    value() {
      const t = box.value.trim();
      if (t === "") return undefined;
      const v = number(t);
      if (v === null) throw new Error(`Truncation ψ must be a number, such as 0.7 ("${t}" is not one).`);
      return v;
    },
  };
}

// --- Generate ---

// truncationOf reads the truncation an image URL was made with (the
// server leaves out 1).
function truncationOf(url) {
  return new URL(url, location.href).searchParams.get("truncation");
}

function imageTile(model, img) {
  const name = `forger-seed${img.seed}${img.class ? "-" + img.class : ""}.png`;
  const psi = truncationOf(img.url);
  const pic = el("img", { src: img.url, alt: `seed ${img.seed}`, loading: "lazy" });
  const remake = el("button", { type: "button", class: "secondary", text: "Re-make" });
  const tile = el("figure", { class: "tile", "data-seed": String(img.seed) }, pic,
    el("figcaption", { class: "seed", text: `seed ${img.seed}${img.class ? " · " + img.class : ""}${psi !== null ? " · ψ " + psi : ""}` }),
    el("div", { class: "tools" }, el("a", { class: "button secondary", href: img.url, download: name, text: "Download" }), remake));
  remake.addEventListener("click", async () => {
    remake.disabled = true;
    try {
      const body = { model, n: 1, seed: img.seed };
      if (img.class) body.class = img.class;
      if (psi !== null) body.truncation = Number(psi);
      const out = await api("/api/generate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      pic.src = out.images[0].url + "&t=" + Date.now();
    } catch (e) {
      $("#gen-error").textContent = e.message;
    } finally {
      remake.disabled = false;
    }
  });
  return tile;
}

async function pageGenerate() {
  const trunc = setupTruncation();
  const current = await setupModels((m) => trunc.setModel(m));
  $("#gen-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const m = current();
    if (!m) return;
    const n = Number((ev.submitter && ev.submitter.dataset.n) || 1);
    let psi;
    try {
      psi = trunc.value();
    } catch (e) {
      $("#gen-error").textContent = e.message;
      return;
    }
    const body = { model: m.name, n };
    const seed = $("#seed").value.trim();
    if (seed !== "") body.seed = Number(seed);
    const cls = $("#class").value;
    if (m.classes.length && cls !== "") body.class = m.classes[Number(cls)];
    if (psi !== undefined) body.truncation = psi;
    $("#gen-error").textContent = "";
    for (const b of document.querySelectorAll("#gen-form button")) b.disabled = true;
    try {
      const out = await api("/api/generate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      $("#images").replaceChildren(...out.images.map((img) => imageTile(m.name, img)));
    } catch (e) {
      $("#gen-error").textContent = e.message;
    } finally {
      for (const b of document.querySelectorAll("#gen-form button")) b.disabled = false;
    }
  });
}

// --- Explore ---

async function pageExplore() {
  let model = null;
  const classParam = () => (model && model.classes.length ? "&class=" + encodeURIComponent($("#class").value || "0") : "");
  let redraw = null; // redraws the direction preview at the current truncation
  const trunc = setupTruncation(() => redraw && redraw());
  // truncParam is the truncation's query parameter; it throws, as
  // trunc.value does, for text that is no number.
  const truncParam = () => {
    const v = trunc.value();
    return v === undefined ? "" : "&truncation=" + encodeURIComponent(String(v));
  };
  const showDirections = async () => {
    const box = $("#sliders");
    box.replaceChildren();
    $("#dir-out").replaceChildren();
    $("#dir-error").textContent = "";
    redraw = null;
    if (!model) return;
    let dirs = [];
    try {
      dirs = (await api("/api/directions?model=" + encodeURIComponent(model.name))).directions;
    } catch (e) {
      $("#dir-info").textContent = e.message;
      return;
    }
    $("#dir-info").textContent = dirs.length ? "Move a slider to push the face along a learned direction." : "No learned directions for this model yet.";
    const pic = el("img", { alt: "direction preview" });
    // A refused request (a truncation out of range, say) shows the server's
    // error instead of a broken image.
    pic.addEventListener("load", () => { pic.hidden = false; $("#dir-error").textContent = ""; });
    pic.addEventListener("error", async () => {
      const url = pic.src;
      pic.hidden = true;
      try { await api(url); } catch (e) { if (pic.src === url) $("#dir-error").textContent = e.message; }
    });
    $("#dir-out").append(pic);
    let timer = null;
    for (const d of dirs) {
      const id = "dir-" + d.replace(/[^a-z0-9_-]/gi, "_");
      const slider = el("input", { type: "range", id, min: "-3", max: "3", step: "0.25", value: "0" });
      box.append(el("label", { for: id, text: d }), slider);
      const draw = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const seed = $("#dir-seed").value || "0";
          let psi;
          try {
            psi = truncParam();
          } catch (e) {
            pic.hidden = true;
            $("#dir-error").textContent = e.message;
            return;
          }
          pic.src = `/api/image?model=${encodeURIComponent(model.name)}&seed=${encodeURIComponent(seed)}${classParam()}${psi}&direction=${encodeURIComponent(d)}&amount=${slider.value}`;
        }, 150);
      };
      slider.addEventListener("input", () => { redraw = draw; draw(); });
    }
  };
  await setupModels((m) => { model = m; trunc.setModel(m); showDirections(); });
  let morphs = 0; // morphs asked for: only the newest shows its error
  $("#morph-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!model) return;
    let psi;
    try {
      psi = truncParam();
    } catch (e) {
      morphs++; // an earlier morph's error no longer applies
      $("#morph-out").replaceChildren();
      $("#morph-error").textContent = e.message;
      return;
    }
    const url = `/api/morph?model=${encodeURIComponent(model.name)}&from=${encodeURIComponent($("#from").value)}&to=${encodeURIComponent($("#to").value)}&frames=${encodeURIComponent($("#frames").value)}${classParam()}${psi}`;
    $("#morph-error").textContent = "";
    const pic = el("img", { src: url, alt: "morph animation" });
    const n = ++morphs;
    pic.addEventListener("error", async () => {
      if (n !== morphs) return; // a newer morph took its place
      $("#morph-out").replaceChildren(); // no broken image, no link to an error
      try { await api(url); } catch (e) { if (n === morphs) $("#morph-error").textContent = e.message; }
    });
    $("#morph-out").replaceChildren(pic, el("div", { class: "actions" }, el("a", { class: "button secondary", href: url, download: "forger-morph.gif", text: "Download" })));
  });
}

// --- Look-alike upload ---

async function pageLookalike() {
  let caps = {};
  try { caps = await api("/api/capabilities"); } catch (_) { /* keep defaults */ }
  if (!caps.lookalike) {
    $("#la-unavailable").hidden = false;
    $("#la-submit").disabled = true;
  }
  if (caps.email) $("#email-box").hidden = false;
  $("#la-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#la-error").textContent = "";
    const file = $("#photo").files[0];
    if (!file) return;
    if (file.size > 10 * 1024 * 1024) {
      $("#la-error").textContent = "The photo is larger than 10 MB.";
      return;
    }
    const fd = new FormData();
    fd.append("photo", file);
    const email = $("#email").value.trim();
    if (email && caps.email) fd.append("email", email);
    $("#la-submit").disabled = true;
    try {
      const out = await api("/api/jobs", { method: "POST", body: fd });
      location.href = "/jobs/" + encodeURIComponent(out.id);
    } catch (e) {
      $("#la-error").textContent = e.message;
      $("#la-submit").disabled = false;
    }
  });
}

// --- Job page ---

const stepOrder = ["queued", "aligning", "matching", "rendering", "done"];
const resultOrder = ["aligned", "best", "worst", "projection", "morph", "smile"];
const resultTitles = { aligned: "Your aligned face", best: "Best match", worst: "Worst match", projection: "You, as the model draws you", morph: "From you to your match", smile: "You, smiling" };

function showSteps(status) {
  const at = stepOrder.indexOf(status);
  for (const li of document.querySelectorAll("#job-steps li")) {
    const i = stepOrder.indexOf(li.dataset.step);
    li.className = status === "failed" ? (i === 0 ? "failed" : "") : i < at || status === "done" ? "done" : i === at ? "now" : "";
  }
}

function showResults(job) {
  const keys = Object.keys(job.results).sort((a, b) => {
    const ia = resultOrder.indexOf(a), ib = resultOrder.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  $("#job-results").replaceChildren(...keys.map((k) => {
    const r = job.results[k];
    let caption = resultTitles[k] || k;
    if (r.label) caption += ": " + r.label;
    if (typeof r.distance === "number") caption += ` (distance ${r.distance.toFixed(3)})`;
    const media = r.url.endsWith(".mp4") ? el("video", { src: r.url, autoplay: "", loop: "", muted: "", playsinline: "" }) : el("img", { src: r.url, alt: caption });
    return el("figure", { "data-result": k }, media, el("figcaption", { text: caption }),
      el("a", { class: "button secondary", href: r.url + "?download=1", download: "", text: "Download" }));
  }));
}

async function pageJob() {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  let delay = 1000;
  for (;;) {
    let job;
    try {
      job = await api("/api/jobs/" + encodeURIComponent(id));
    } catch (e) {
      $("#job-status").textContent = e.message;
      if (/no such job/.test(e.message)) return;
      await new Promise((r) => setTimeout(r, 3000));
      continue;
    }
    $("#job-status").textContent = job.status === "done" ? "Done" : job.status === "failed" ? "Failed" : job.status[0].toUpperCase() + job.status.slice(1) + "…";
    $("#job-status").dataset.status = job.status;
    showSteps(job.status);
    $("#job-reason").textContent = job.status === "failed" ? job.reason : "";
    $("#job-email").textContent = job.email_unconfirmed ? "We sent you an e-mail with a link: the result is e-mailed once you have used it." : "";
    if (job.status === "done") { showResults(job); return; }
    if (job.status === "failed") return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.2, 4000);
  }
}

// --- E-mail confirmation (the link of the confirmation e-mail) ---

function pageConfirm() {
  const token = new URLSearchParams(location.search).get("token") || "";
  $("#confirm-submit").addEventListener("click", async () => {
    $("#confirm-error").textContent = "";
    $("#confirm-submit").disabled = true;
    try {
      await api("/api/mail/confirm", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
      $("#confirm-status").textContent = "Thank you: your address is confirmed. The look-alike result comes by e-mail when it is ready.";
    } catch (e) {
      $("#confirm-error").textContent = e.message;
    }
  });
}

markNav();
({ generate: pageGenerate, explore: pageExplore, lookalike: pageLookalike, job: pageJob, confirm: pageConfirm })[document.body.dataset.page]?.();
