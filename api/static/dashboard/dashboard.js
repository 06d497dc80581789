// energy-data dashboard. Reads only the public JSON API (/regions/, /energy-mixture/,
// /carbon-intensity/, /carbon-intensity/forecast/, /sources/) and the boundaries for the map;
// draws with the plotly.js bundle the server ships (no CDN). Times are UTC throughout.
"use strict";

// One colour per fuel, the same in every chart and CSV order. Okabe-Ito colours (distinguishable
// with the common colour-vision deficiencies) for the large fuels, greys and darker tones for the rest.
const FUELS = [
  ["nuclear", "#CC79A7"], ["coal", "#3B3B3B"], ["gas", "#E69F00"], ["oil", "#D55E00"],
  ["geothermal", "#8C510A"], ["biomass", "#009E73"], ["hydro", "#0072B2"], ["wind", "#56B4E9"],
  ["solar", "#F0E442"], ["battery", "#6A3D9A"], ["hydro_storage", "#1F3A60"], ["other", "#999999"],
  ["unknown", "#C8C8C8"],
];
const FUEL_COLOUR = Object.fromEntries(FUELS);
const MEASURED_COLOUR = "#222222";
const FORECAST_COLOUR = "#0072B2";
const WINDOW_COLOUR = "rgba(0, 158, 115, 0.18)";
const RANGES = { "24h": 24, "7d": 24 * 7, "30d": 24 * 30 };
const HOUR = 3600 * 1000;
const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

const state = { regions: [], generation: 0, csv: {} };
const $ = (id) => document.getElementById(id);

class ApiFailure extends Error {}

// GET a JSON endpoint; a non-2xx answer becomes an ApiFailure carrying the API's own message.
async function getJSON(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  let response;
  try {
    // no-cache: revalidate (the API answers 304 to a matching ETag), so new data shows at once.
    response = await fetch(query ? `${path}?${query}` : path, { headers: { Accept: "application/json" }, cache: "no-cache" });
  } catch (err) {
    throw new ApiFailure(`the server did not answer (${err.message})`);
  }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) {
    const why = body && body.error && body.error.message ? body.error.message : response.statusText;
    throw new ApiFailure(`${why} (HTTP ${response.status})`);
  }
  if (body === null) throw new ApiFailure(`the answer was not JSON (HTTP ${response.status})`);
  return body;
}

const isoMinute = (date) => date.toISOString().slice(0, 16) + "Z";
const shortTime = (text) => (text ? text.replace("T", " ").slice(0, 16) + " UTC" : "never");
const floorHour = (date) => new Date(Math.floor(date.getTime() / HOUR) * HOUR);

function showMessage(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}

function setBusy(busy) {
  document.body.dataset.state = busy ? "loading" : "ready";
  $("charts").setAttribute("aria-busy", busy ? "true" : "false");
}

// ---- CSV ------------------------------------------------------------------------------------

function csvText(header, rows) {
  const cell = (v) => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\n") + "\n";
}

function offerCsv(button, name, header, rows) {
  state.csv[button] = { name, text: rows.length ? csvText(header, rows) : null };
  $(button).disabled = !rows.length;
}

function downloadCsv(button) {
  const csv = state.csv[button];
  if (!csv || !csv.text) return;
  const url = URL.createObjectURL(new Blob([csv.text], { type: "text/csv" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = csv.name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- what to show ---------------------------------------------------------------------------

function selectedRegion() {
  return state.regions.find((r) => r.id === $("region").value);
}

function rangeChoice() {
  return document.querySelector("input[name=range]:checked").value;
}

// The range asked for: named ranges end at the region's newest data (so a region whose feed
// stopped still shows its last days), custom ones are what the user typed, in UTC.
function timeRange(region) {
  const choice = rangeChoice();
  if (choice === "custom") {
    const start = $("custom-start").value, end = $("custom-end").value;
    if (!start || !end) return { error: "Enter both ends of the custom range." };
    return { start: new Date(start + ":00Z"), end: new Date(end + ":00Z") };
  }
  return namedRange(region, RANGES[choice]);
}

function namedRange(region, hours) {
  const source = region.sources.find((s) => s.default) || region.sources[0];
  const newestEnd = new Date(new Date(region.newest_data).getTime() + source.interval_minutes * 60000);
  const end = new Date(Math.min(newestEnd.getTime(), Date.now()));
  return { start: new Date(end.getTime() - hours * HOUR), end };
}

function writeHash() {
  const params = new URLSearchParams({ region: $("region").value, range: rangeChoice(),
                                       factor: $("factor").value, window: $("window-hours").value });
  if (rangeChoice() === "custom") {
    params.set("start", $("custom-start").value);
    params.set("end", $("custom-end").value);
  }
  history.replaceState(null, "", "#" + params.toString());
}

// The URL's choices, each only if it is one the page offers: anything else (a link typed by
// hand, or made to break the page: range=x"] once threw in a selector) keeps the default.
const MINUTE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

function offered(select, value) {
  return Array.from(select.options).some((option) => option.value === value);
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (state.regions.some((r) => r.id === params.get("region"))) $("region").value = params.get("region");
  const range = Array.from(document.querySelectorAll("input[name=range]")).find((input) => input.value === params.get("range"));
  if (range) range.checked = true;
  if (offered($("factor"), params.get("factor"))) $("factor").value = params.get("factor");
  if (offered($("window-hours"), params.get("window"))) $("window-hours").value = params.get("window");
  if (MINUTE.test(params.get("start") || "")) $("custom-start").value = params.get("start");
  if (MINUTE.test(params.get("end") || "")) $("custom-end").value = params.get("end");
  $("custom-range").hidden = rangeChoice() !== "custom";
}

// ---- charts ---------------------------------------------------------------------------------

function timeAxis() {
  return { title: { text: "time (UTC)" }, type: "date", hoverformat: "%Y-%m-%d %H:%M UTC" };
}

function clearChart(id) {
  if (window.Plotly) Plotly.purge($(id));
  $(id).hidden = true;
  $(id).dataset.points = "0";
}

function drawMix(region, answer, range) {
  const mixtures = answer.mixtures;
  if (!mixtures.length) {
    clearChart("mix-chart");
    clearChart("share-chart");
    offerCsv("mix-csv", "", [], []);
    offerCsv("share-csv", "", [], []);
    showMessage("mix-message", `No generation data for ${region.id} from ${shortTime(range.start.toISOString())} to `
      + `${shortTime(range.end.toISOString())}: ${answer.coverage.note || "the source has no intervals here"}.`);
    return;
  }
  showMessage("mix-message", answer.coverage.note ? `Note: ${answer.coverage.note}.` : "");
  const present = FUELS.map(([fuel]) => fuel).filter((fuel) => mixtures.some((m) => fuel in m.fuels));
  const x = mixtures.map((m) => m.timestamp);
  const traces = present.map((fuel) => ({
    type: "scatter", mode: "lines", name: fuel, x, y: mixtures.map((m) => m.fuels[fuel] ?? 0),
    stackgroup: "mix", line: { width: 0.5, color: FUEL_COLOUR[fuel] }, fillcolor: FUEL_COLOUR[fuel],
    hovertemplate: `${fuel}: %{y:,.0f} MW<extra></extra>`,
  }));
  $("mix-chart").hidden = false;
  Plotly.react("mix-chart", traces, {
    margin: { t: 10, r: 10, b: 50, l: 70 }, hovermode: "x unified", legend: { traceorder: "normal" },
    xaxis: timeAxis(), yaxis: { title: { text: "generation (MW)" }, rangemode: "tozero" },
  }, PLOT_CONFIG);
  $("mix-chart").dataset.points = String(x.length);
  offerCsv("mix-csv", `${region.id}_generation_${isoMinute(range.start)}_${isoMinute(range.end)}.csv`,
           ["timestamp_utc", ...present.map((f) => `${f}_mw`), "total_generation_mw", "net_import_mw"],
           mixtures.map((m) => [m.timestamp, ...present.map((f) => m.fuels[f] ?? null), m.total_generation_mw,
                                m.net_import_mw]));
  drawShares(region, mixtures, present, range);
}

// Each fuel's share of the energy generated over the range: intervals of one source are of
// equal length, so MWh are proportional to the sum of MW; charging (negative) is not generation.
function drawShares(region, mixtures, present, range) {
  const energy = present.map((fuel) => mixtures.reduce((sum, m) => sum + Math.max(m.fuels[fuel] ?? 0, 0), 0));
  const total = energy.reduce((a, b) => a + b, 0);
  const shares = energy.map((e) => (total > 0 ? (100 * e) / total : 0));
  $("share-chart").hidden = false;
  Plotly.react("share-chart", [{
    type: "bar", orientation: "h", x: shares, y: present, marker: { color: present.map((f) => FUEL_COLOUR[f]) },
    hovertemplate: "%{y}: %{x:.1f} %<extra></extra>", text: shares.map((v) => `${v.toFixed(1)} %`),
    textposition: "outside", cliponaxis: false,
  }], {
    margin: { t: 10, r: 40, b: 45, l: 100 }, showlegend: false,
    xaxis: { title: { text: "share of generation (%)" }, rangemode: "tozero" },
    yaxis: { title: { text: "fuel" }, autorange: "reversed", type: "category" },
  }, PLOT_CONFIG);
  offerCsv("share-csv", `${region.id}_shares_${isoMinute(range.start)}_${isoMinute(range.end)}.csv`,
           ["fuel", "share_percent"], present.map((f, i) => [f, shares[i]]));
}

// The lowest-carbon window of `hours` hours in a series of `stepMinutes` intervals: the mean of
// every run of consecutive intervals without a gap is compared, the first of equal ones wins.
// Null when no such run exists (a series too short or too gappy).
function bestWindow(points, hours, stepMinutes) {
  const count = (hours * 60) / stepMinutes;
  if (!Number.isInteger(count) || points.length < count) return null;
  const times = points.map((p) => new Date(p.timestamp).getTime());
  const sums = [0];
  points.forEach((p, i) => sums.push(sums[i] + p.carbon_intensity));
  let best = null;
  for (let i = 0; i + count <= points.length; i++) {
    if (times[i + count - 1] - times[i] !== (count - 1) * stepMinutes * 60000) continue;
    const mean = (sums[i + count] - sums[i]) / count;
    if (best === null || mean < best.mean) best = { start: points[i].timestamp, mean, index: i, count };
  }
  if (best) best.end = new Date(new Date(best.start).getTime() + hours * HOUR).toISOString();
  return best;
}

function windowShape(window, colour, dash) {
  return { type: "rect", xref: "x", yref: "paper", x0: window.start, x1: window.end, y0: 0, y1: 1,
           fillcolor: colour, line: { width: 1, color: "#00704f", dash }, layer: "below" };
}

function windowLabel(window, text) {
  return { x: window.start, xref: "x", y: 1, yref: "paper", xanchor: "left", yanchor: "bottom", text,
           showarrow: false, font: { color: "#00704f" } };
}

// The scheduler's answer (GET /carbon-aware-scheduler/best-window/) as the chart marks a window.
function scheduledWindow(answer) {
  if (!answer.ok || !answer.value.best) return null;
  const best = answer.value.best;
  return { start: best.start, end: best.end, mean: best.carbon_intensity,
           contains: (timestamp) => new Date(timestamp) >= new Date(best.start) && new Date(timestamp) < new Date(best.end) };
}

function drawIntensity(region, intensity, forecast, range, measuredWindow) {
  const factor = $("factor").value;
  const points = intensity.ok ? intensity.value.carbon_intensities : [];
  const predicted = forecast.ok ? forecast.value.forecast : [];
  if (!intensity.ok) {
    showMessage("intensity-message", `Could not load the carbon intensity: ${intensity.error}.`);
  } else if (!points.length) {
    showMessage("intensity-message", `No carbon-intensity data for ${region.id} from ${shortTime(range.start.toISOString())} `
      + `to ${shortTime(range.end.toISOString())}: ${intensity.value.coverage.note || "no intervals here"}.`);
  } else {
    showMessage("intensity-message", "");
  }
  showMessage("forecast-message", forecast.ok
    ? (!forecast.value.model.fallback_reason ? ""
      : forecast.value.model.interval_level
        ? `Forecast: ${forecast.value.model.name}, from the intensity history only, because ${forecast.value.model.fallback_reason}.`
        : `Forecast: ${forecast.value.model.name} baseline, without an interval, because ${forecast.value.model.fallback_reason}.`)
    : `No forecast: ${forecast.error}.`);

  const hours = Number($("window-hours").value);
  const best = bestWindow(predicted, hours, 60);
  // In the measured range the window is the scheduler's own (the same engine the API schedules with).
  const bestMeasured = points.length ? scheduledWindow(measuredWindow) : null;
  const sentences = [];
  if (best) {
    sentences.push(`Lowest-carbon ${hours} h window in the forecast issued ${shortTime(forecast.value.issued_at)}: `
      + `${shortTime(best.start)} to ${shortTime(best.end)}, mean ${best.mean.toFixed(0)} gCO2eq/kWh (${factor}).`);
  } else if (forecast.ok) {
    sentences.push(`The forecast holds ${predicted.length} hours: too few for a ${hours} h window.`);
  }
  if (bestMeasured) {
    sentences.push(`In the range shown: ${shortTime(bestMeasured.start)} to ${shortTime(bestMeasured.end)}, `
      + `mean ${bestMeasured.mean.toFixed(0)} gCO2eq/kWh.`);
  }
  $("best-window").textContent = sentences.join(" ");

  if (!points.length && !predicted.length) {
    clearChart("intensity-chart");
    offerCsv("intensity-csv", "", [], []);
    offerCsv("forecast-csv", "", [], []);
    return;
  }
  const traces = [];
  if (points.length) {
    traces.push({ type: "scatter", mode: "lines", name: `measured (${factor})`, x: points.map((p) => p.timestamp),
                  y: points.map((p) => p.carbon_intensity), line: { color: MEASURED_COLOUR, width: 1.6 },
                  hovertemplate: "measured: %{y:.0f} gCO2eq/kWh<extra></extra>" });
  }
  if (predicted.length) {
    const x = predicted.map((p) => p.timestamp);
    if (predicted.every((p) => p.lower !== null && p.upper !== null)) {
      const level = forecast.value.model.interval_level;
      traces.push({ type: "scatter", mode: "lines", name: "forecast lower", x, y: predicted.map((p) => p.lower),
                    line: { width: 0 }, showlegend: false, hoverinfo: "skip" });
      traces.push({ type: "scatter", mode: "lines", name: `forecast ${level ? Math.round(level * 100) + " % " : ""}interval`,
                    x, y: predicted.map((p) => p.upper), fill: "tonexty", fillcolor: "rgba(0, 114, 178, 0.2)",
                    line: { width: 0 }, hoverinfo: "skip" });
    }
    traces.push({ type: "scatter", mode: "lines+markers", name: `forecast (${forecast.value.model.name})`, x,
                  y: predicted.map((p) => p.carbon_intensity), line: { color: FORECAST_COLOUR, dash: "dash", width: 2 },
                  marker: { size: 4, symbol: "diamond" }, hovertemplate: "forecast: %{y:.0f} gCO2eq/kWh<extra></extra>" });
  }
  // The forecast's window first (tests and readers look for it there), then the measured one.
  const shapes = [], annotations = [];
  if (best) {
    shapes.push(windowShape(best, WINDOW_COLOUR, "solid"));
    annotations.push(windowLabel(best, `lowest ${hours} h`));
  }
  if (bestMeasured) {
    shapes.push(windowShape(bestMeasured, "rgba(120, 120, 120, 0.15)", "dot"));
    annotations.push(windowLabel(bestMeasured, `lowest ${hours} h measured`));
  }
  $("intensity-chart").hidden = false;
  Plotly.react("intensity-chart", traces, {
    margin: { t: 24, r: 10, b: 50, l: 70 }, hovermode: "x unified", shapes, annotations,
    xaxis: timeAxis(), yaxis: { title: { text: "carbon intensity (gCO2eq/kWh)" }, rangemode: "tozero" },
  }, PLOT_CONFIG);
  $("intensity-chart").dataset.points = String(points.length);
  $("intensity-chart").dataset.forecastPoints = String(predicted.length);
  offerCsv("intensity-csv", `${region.id}_intensity_${factor}_${isoMinute(range.start)}_${isoMinute(range.end)}.csv`,
           ["timestamp_utc", "carbon_intensity_gco2eq_per_kwh", "renewable_ratio", "low_carbon_ratio", "in_lowest_window"],
           points.map((p) => [p.timestamp, p.carbon_intensity, p.renewable_ratio, p.low_carbon_ratio,
                                 bestMeasured && bestMeasured.contains(p.timestamp) ? 1 : 0]));
  offerCsv("forecast-csv", forecast.ok ? `${region.id}_forecast_${factor}_${isoMinute(new Date(forecast.value.issued_at))}.csv` : "",
           ["timestamp_utc", "carbon_intensity_gco2eq_per_kwh", "lower", "upper", "in_lowest_window"],
           predicted.map((p, i) => [p.timestamp, p.carbon_intensity, p.lower, p.upper,
                                    best && i >= best.index && i < best.index + best.count ? 1 : 0]));
}

// ---- freshness table ------------------------------------------------------------------------

async function drawFreshness() {
  let answer;
  try {
    answer = await getJSON("/sources/");
  } catch (err) {
    showMessage("freshness-message", `Could not load the sources: ${err.message}.`);
    return;
  }
  showMessage("freshness-message", "");
  const body = $("freshness").tBodies[0];
  body.replaceChildren(...answer.sources.map((s) => {
    const row = document.createElement("tr");
    const cells = [s.name, s.state.replace("_", " "), shortTime(s.last_success), shortTime(s.newest_data),
                   String(s.regions), s.rows.toLocaleString("en-US"), s.last_error || ""];
    cells.forEach((text, i) => {
      const cell = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) { cell.scope = "row"; cell.title = s.description; }
      if (i === 1) cell.className = `state-${s.state}`;
      if (i === 6) cell.className = "error";
      cell.textContent = text;
      row.appendChild(cell);
    });
    return row;
  }));
  offerCsv("freshness-csv", "sources_freshness.csv",
           ["source", "state", "last_success", "last_attempt", "last_status", "newest_data", "regions", "rows",
            "stale_after_minutes", "last_error"],
           answer.sources.map((s) => [s.name, s.state, s.last_success, s.last_attempt, s.last_status, s.newest_data,
                                      s.regions, s.rows, s.stale_after_minutes, s.last_error]));
}

// ---- map --------------------------------------------------------------------------------------

// Blue (clean) to orange-brown (dirty): readable in grey and by people with deficient colour vision.
const RAMP = ["#2166AC", "#67A9CF", "#D1E5F0", "#FDDBC7", "#EF8A62", "#8C2D04"];
const RAMP_MAX = 800;

function rampColour(value) {
  const t = Math.max(0, Math.min(1, value / RAMP_MAX)) * (RAMP.length - 1);
  const i = Math.min(Math.floor(t), RAMP.length - 2), f = t - i;
  const parse = (hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const [a, b] = [parse(RAMP[i]), parse(RAMP[i + 1])];
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * f)).join(",")})`;
}

// Equirectangular with the longitude scaled by cos(mean latitude) over the contiguous US (what
// lies outside, Alaska, Hawaii, Puerto Rico, is cut off): good enough at this size, no library.
const MAP_BOX = [-125, 24.3, -66.5, 49.6];

function projector() {
  const [x0, y0, x1, y1] = MAP_BOX;
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const width = 960, scale = width / ((x1 - x0) * k), height = (y1 - y0) * scale;
  return { width, height: Math.ceil(height), point: ([x, y]) => [((x - x0) * k * scale).toFixed(1), ((y1 - y) * scale).toFixed(1)] };
}

function polygons(geometry) {
  return geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
}

async function drawMap() {
  let collection;
  try {
    collection = await getJSON("/dashboard/boundaries.geojson");
  } catch (err) {
    return;  // no map: the region picker does the same job
  }
  const withData = new Map(state.regions.filter((r) => r.newest_data).map((r) => [r.id, r]));
  // Every region of the file is drawn, for orientation; those without data stay grey and inert.
  const features = collection.features;
  if (!features.some((f) => withData.has(f.properties.id))) return;
  $("map-section").hidden = false;
  const latest = await Promise.all(features.filter((f) => withData.has(f.properties.id)).map(async (f) => {
    const region = withData.get(f.properties.id);
    const newest = new Date(region.newest_data);
    try {
      const answer = await getJSON("/carbon-intensity/", { region: region.id, start: newest.toISOString(),
                                                            end: new Date(newest.getTime() + 60000).toISOString() });
      const point = answer.carbon_intensities[answer.carbon_intensities.length - 1];
      return { id: region.id, timestamp: point ? point.timestamp : null, value: point ? point.carbon_intensity : null };
    } catch (err) {
      return { id: region.id, timestamp: null, value: null };
    }
  }));
  const byId = new Map(latest.map((l) => [l.id, l]));
  const proj = projector();
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${proj.width} ${proj.height}`);
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-label", "Map of regions with data");
  for (const f of features) {
    const id = f.properties.id, value = byId.has(id) ? byId.get(id).value : null;
    const path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", polygons(f.geometry).map((poly) => poly.map((ring) =>
      "M" + ring.map((c) => proj.point(c).join(",")).join("L") + "Z").join("")).join(""));
    path.dataset.region = id;
    const label = value === null ? `${id}: no data` : `${id}: ${value.toFixed(0)} gCO2eq/kWh`;
    const title = document.createElementNS(svgNS, "title");
    title.textContent = label;
    path.appendChild(title);
    if (value === null) {
      path.classList.add("nodata");
      svg.appendChild(path);
      continue;
    }
    path.setAttribute("fill", rampColour(value));
    path.setAttribute("tabindex", "0");
    path.setAttribute("role", "button");
    path.setAttribute("aria-label", `${label}; show this region`);
    const pick = () => { $("region").value = id; update(); };
    path.addEventListener("click", pick);
    path.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); } });
    svg.appendChild(path);
  }
  $("map").replaceChildren(svg);
  $("map-legend").innerHTML = `<span>0</span><svg class="ramp" viewBox="0 0 ${RAMP.length} 1" preserveAspectRatio="none" aria-hidden="true">`
    + RAMP.map((c, i) => `<rect x="${i}" width="1.02" height="1" fill="${c}"/>`).join("")
    + `</svg><span>${RAMP_MAX}+ gCO2eq/kWh (lifecycle, newest interval)</span>`;
  highlightMap();
  $("map").dataset.regions = String(latest.filter((l) => l.value !== null).length);
  offerCsv("map-csv", "regions_current_intensity.csv", ["region", "timestamp_utc", "carbon_intensity_gco2eq_per_kwh"],
           latest.map((l) => [l.id, l.timestamp, l.value]));
}

function highlightMap() {
  document.querySelectorAll("#map path").forEach((p) => p.classList.toggle("selected", p.dataset.region === $("region").value));
}

// ---- one update -------------------------------------------------------------------------------

async function settle(promise) {
  try { return { ok: true, value: await promise }; } catch (err) { return { ok: false, error: err.message }; }
}

async function update() {
  const generation = ++state.generation;
  const region = selectedRegion();
  writeHash();
  highlightMap();
  if (!region) return;
  const source = region.sources.find((s) => s.default) || region.sources[0];
  $("region-info").textContent = `${region.id}, ${region.name}: source ${source.name} (${source.interval_minutes}-minute), `
    + `data ${shortTime(region.first_data)} to ${shortTime(region.newest_data)}.`;
  const range = timeRange(region);
  if (range.error || !(range.start < range.end)) {
    showMessage("mix-message", range.error || "The custom range must end after it starts.");
    return;
  }
  setBusy(true);
  const span = { region: region.id, start: range.start.toISOString(), end: range.end.toISOString() };
  const factor = $("factor").value;
  const forecastParams = { region: region.id, horizon_hours: 24, emission_factor_type: factor };
  // A forecast issued at the end of the range shown, so that it continues the line (now, if the range reaches now).
  if (range.end.getTime() < Date.now() - HOUR) forecastParams.issued_at = floorHour(range.end).toISOString();
  const windowParams = { ...span, duration: Number($("window-hours").value) * 60, emission_factor_type: factor };
  const [mix, intensity, forecast, measuredWindow] = await Promise.all([
    settle(getJSON("/energy-mixture/", span)),
    settle(getJSON("/carbon-intensity/", { ...span, emission_factor_type: factor })),
    settle(getJSON("/carbon-intensity/forecast/", forecastParams)),
    settle(getJSON("/carbon-aware-scheduler/best-window/", windowParams)),
  ]);
  if (generation !== state.generation) return;  // a newer choice is being drawn
  if (mix.ok) {
    drawMix(region, mix.value, range);
  } else {
    clearChart("mix-chart");
    clearChart("share-chart");
    offerCsv("mix-csv", "", [], []);
    offerCsv("share-csv", "", [], []);
    showMessage("mix-message", `Could not load the generation mix: ${mix.error}.`);
  }
  drawIntensity(region, intensity, forecast, range, measuredWindow);
  document.body.dataset.drawn = String(generation);  // tests wait for this
  setBusy(false);
}

async function start() {
  $("region").addEventListener("change", update);
  $("factor").addEventListener("change", update);
  $("window-hours").addEventListener("change", update);
  document.querySelectorAll("input[name=range]").forEach((input) => input.addEventListener("change", () => {
    $("custom-range").hidden = rangeChoice() !== "custom";
    if (rangeChoice() !== "custom") update();
  }));
  // Enter in a custom date field shows that range, as the button does.
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); if (rangeChoice() === "custom") update(); });
  document.querySelectorAll("button.csv").forEach((button) => button.addEventListener("click", () => downloadCsv(button.id)));
  drawFreshness();
  try {
    state.regions = (await getJSON("/regions/")).regions.filter((r) => r.sources.length);
  } catch (err) {
    showMessage("mix-message", `Could not load the regions: ${err.message}.`);
    setBusy(false);
    return;
  }
  if (!state.regions.length) {
    showMessage("mix-message", "No region has data yet: run the crawler (`make run` does) or replay recorded files.");
    setBusy(false);
    return;
  }
  $("region").replaceChildren(...state.regions.map((r) => new Option(`${r.id} (${r.name})`, r.id)));
  // Default: the region with the newest data.
  $("region").value = state.regions.reduce((a, b) => (a.newest_data >= b.newest_data ? a : b)).id;
  readHash();
  const region = selectedRegion();
  if (region && !$("custom-start").value) {
    const range = namedRange(region, RANGES["24h"]);  // a starting point to edit
    $("custom-start").value = range.start.toISOString().slice(0, 16);
    $("custom-end").value = range.end.toISOString().slice(0, 16);
  }
  drawMap();
  await update();
}

document.addEventListener("DOMContentLoaded", start);
