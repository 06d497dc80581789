// energy-data dashboard. Reads only the public JSON API (/regions/, /energy-mixture/,
// /carbon-intensity/, /carbon-intensity/latest/, /carbon-intensity/forecast/, /sources/) and the
// boundaries for the map; draws with the plotly.js bundle the server ships (no CDN). Times are UTC
// throughout.
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
                                       factor: $("factor").value, window: $("window-hours").value,
                                       map: $("map-view").value });
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
  if (offered($("map-view"), params.get("map"))) $("map-view").value = params.get("map");
  if (MINUTE.test(params.get("start") || "")) $("custom-start").value = params.get("start");
  if (MINUTE.test(params.get("end") || "")) $("custom-end").value = params.get("end");
  $("custom-range").hidden = rangeChoice() !== "custom";
}

// ---- region picker --------------------------------------------------------------------------

// Regions grouped by the first part of their IANA time zone (America/New_York: Americas), which
// every region has; within a group, by id.
const AREAS = { America: "Americas", Europe: "Europe", Asia: "Asia", Australia: "Australia", Pacific: "Pacific",
                Africa: "Africa", Atlantic: "Atlantic", Indian: "Indian Ocean" };

function areaOf(region) {
  return AREAS[(region.time_zone || "").split("/")[0]] || "Elsewhere";
}

function fillPicker() {
  const groups = new Map();
  [...state.regions].sort((a, b) => a.id.localeCompare(b.id)).forEach((r) => {
    const area = areaOf(r);
    if (!groups.has(area)) groups.set(area, []);
    groups.get(area).push(r);
  });
  $("region").replaceChildren(...[...groups.keys()].sort().map((area) => {
    const group = document.createElement("optgroup");
    group.label = area;
    group.append(...groups.get(area).map((r) => {
      const option = new Option(`${r.id} (${r.name})`, r.id);
      option.dataset.search = [r.id, r.name, r.time_zone, ...r.aliases].join(" ").toLowerCase();
      return option;
    }));
    return group;
  }));
  filterPicker();
}

// Typing in "Find" leaves in the picker the regions whose id, name, time zone or an alias holds
// every word typed; Enter shows the first of them.
function filterPicker() {
  const words = $("region-filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  $("region").querySelectorAll("optgroup").forEach((group) => {
    let any = false;
    Array.from(group.children).forEach((option) => {
      option.hidden = !words.every((word) => option.dataset.search.includes(word));
      any = any || !option.hidden;
      shown += option.hidden ? 0 : 1;
    });
    group.hidden = !any;
  });
  const total = state.regions.length;
  $("region-count").textContent = words.length ? `${shown} of ${total} regions match` : `${total} regions with data`;
}

function pickFirstMatch(event) {
  if (event.key !== "Enter") return;
  event.preventDefault();  // not the form's submit
  const first = $("region").querySelector("option:not([hidden])");
  if (first && first.value !== $("region").value) {
    $("region").value = first.value;
    update();
  }
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

// Equal Earth (Šavrič, Patterson and Jenny, 2018): an equal-area world projection, so that a zone's
// share of the map is its share of the land (a choropleth compares areas), with straight parallels.
// World units: the map is WORLD_WIDTH wide; the SVG's viewBox picks the part shown.
const EE = { A1: 1.340264, A2: -0.081106, A3: 0.000893, A4: 0.003796, M: Math.sqrt(3) / 2 };

function equalEarth(lambda, phi) {  // radians in, the projection's own units out (y north)
  const t = Math.asin(EE.M * Math.sin(phi)), t2 = t * t, t6 = t2 * t2 * t2;
  return [lambda * Math.cos(t) / (EE.M * (EE.A1 + 3 * EE.A2 * t2 + t6 * (7 * EE.A3 + 9 * EE.A4 * t2))),
          t * (EE.A1 + EE.A2 * t2 + t6 * (EE.A3 + EE.A4 * t2))];
}

const EE_X_MAX = equalEarth(Math.PI, 0)[0], EE_Y_MAX = equalEarth(0, Math.PI / 2)[1];  // the world's edge
const WORLD_WIDTH = 1000, SCALE = WORLD_WIDTH / (2 * EE_X_MAX), WORLD_HEIGHT = 2 * EE_Y_MAX * SCALE;
const VIEW_ASPECT = 2;  // width / height of the map on the page, whatever part of the world is shown
const MIN_VIEW_WIDTH = 30;  // 11 degrees of longitude at the equator: Luxembourg is not blown up to fill the map
const MIN_AREA_WIDTH = 160;  // around a region outside every preset: some 60 degrees of longitude
// Preset views, as [west, south, east, north] in degrees: the areas with grid data (the contiguous
// US, Puerto Rico and Québec; the ENTSO-E zones; Australia's markets).
const VIEWS = { "north-america": [-126, 15, -60, 56], europe: [-12, 34, 45, 71], australia: [112, -44, 154, -10] };

// Degrees to world units (SVG: y down).
function project(lon, lat) {
  const [x, y] = equalEarth(lon * Math.PI / 180, lat * Math.PI / 180);
  return [WORLD_WIDTH / 2 + x * SCALE, WORLD_HEIGHT / 2 - y * SCALE];
}

function polygons(geometry) {
  return geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
}

// A ring that crosses the antimeridian (its longitudes span more than half the world) is drawn
// east of it in one piece; the world's outline clips what then lies beyond the edge.
function unwrapped(ring) {
  const lons = ring.map((c) => c[0]);
  if (Math.max(...lons) - Math.min(...lons) <= 180) return ring;
  return ring.map(([lon, lat]) => [lon < 0 ? lon + 360 : lon, lat]);
}

const emptyBox = () => [Infinity, Infinity, -Infinity, -Infinity];

function extendBox(box, [x, y]) {
  box[0] = Math.min(box[0], x); box[1] = Math.min(box[1], y);
  box[2] = Math.max(box[2], x); box[3] = Math.max(box[3], y);
}

// The SVG path of a (Multi)Polygon in world units, and its bounding box [x0, y0, x1, y1].
function projectedPath(geometry) {
  const box = emptyBox();
  const d = polygons(geometry).map((poly) => poly.map((ring) => "M" + unwrapped(ring).map(([lon, lat]) => {
    const point = project(lon, lat);
    extendBox(box, point);
    return `${point[0].toFixed(2)},${point[1].toFixed(2)}`;
  }).join("L") + "Z").join("")).join("");
  return { d, box };
}

// The world's outline: the meridians of 180 degrees west and east.
function worldOutline() {
  const points = [];
  for (let lat = -90; lat <= 90; lat += 2) points.push(project(-180, lat));
  for (let lat = 90; lat >= -90; lat -= 2) points.push(project(180, lat));
  return "M" + points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join("L") + "Z";
}

function boxOfDegrees([west, south, east, north]) {
  const box = emptyBox();
  for (let i = 0; i <= 8; i++) {  // along the edges: the projection bends meridians
    const lon = west + (east - west) * i / 8, lat = south + (north - south) * i / 8;
    [[lon, south], [lon, north], [west, lat], [east, lat]].forEach(([x, y]) => extendBox(box, project(x, y)));
  }
  return box;
}

function unionBox(boxes) {
  const union = emptyBox();
  boxes.forEach((b) => { extendBox(union, [b[0], b[1]]); extendBox(union, [b[2], b[3]]); });
  return union;
}

// The viewBox showing `box` (with a margin) at the map's aspect, kept inside the world.
function viewBoxFor(box, margin = 0.08, minWidth = MIN_VIEW_WIDTH) {
  let width = Math.max((box[2] - box[0]) * (1 + 2 * margin), (box[3] - box[1]) * (1 + 2 * margin) * VIEW_ASPECT,
                       minWidth);
  width = Math.min(width, 1.02 * Math.max(WORLD_WIDTH, WORLD_HEIGHT * VIEW_ASPECT));
  const height = width / VIEW_ASPECT;
  const inside = (centre, size, limit) => (size >= limit ? limit / 2
    : Math.min(Math.max(centre, size / 2), limit - size / 2));
  const cx = inside((box[0] + box[2]) / 2, width, WORLD_WIDTH);
  const cy = inside((box[1] + box[3]) / 2, height, WORLD_HEIGHT);
  return [cx - width / 2, cy - height / 2, width, height].map((v) => v.toFixed(2)).join(" ");
}

// The map's outlines by region id ({path, box in world units, region or undefined}), and its state.
const mapState = { shapes: new Map(), drawn: false, shading: 0 };
const SVG_NS = "http://www.w3.org/2000/svg";

// The outlines (once per page): every region of the boundaries file, those with data focusable
// and clickable, the others grey and inert, for orientation.
async function drawMap() {
  let collection;
  try {
    collection = await getJSON("/dashboard/boundaries.geojson");
  } catch (err) {
    return;  // no map: the region picker does the same job
  }
  const withData = new Map(state.regions.map((r) => [r.id, r]));
  const features = collection.features.filter((f) => f.geometry && f.properties && f.properties.id);
  if (!features.some((f) => withData.has(f.properties.id))) return;
  $("map-section").hidden = false;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-label", "World map of regions with data");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const outline = document.createElementNS(SVG_NS, "path");
  outline.setAttribute("d", worldOutline());
  outline.setAttribute("class", "world");
  const clip = document.createElementNS(SVG_NS, "clipPath");
  clip.id = "map-world";
  clip.appendChild(outline.cloneNode());
  const regions = document.createElementNS(SVG_NS, "g");
  regions.setAttribute("clip-path", "url(#map-world)");
  svg.append(clip, outline, regions);
  for (const f of features) {
    const id = f.properties.id, region = withData.get(id);
    const { d, box } = projectedPath(f.geometry);
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    path.id = `map-${id}`;
    path.dataset.region = id;
    path.appendChild(document.createElementNS(SVG_NS, "title"));
    mapState.shapes.set(id, { path, box, region });
    if (!region) {
      path.classList.add("nodata");
      path.firstChild.textContent = `${id}: no data`;
    } else {
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "button");
      const pick = () => { $("region").value = id; update(); };
      path.addEventListener("click", pick);
      path.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); }
      });
    }
    regions.appendChild(path);
  }
  // The selected region's outline on top of its neighbours' (a copy: moving the path itself would drop its focus).
  const selected = document.createElementNS(SVG_NS, "use");
  selected.setAttribute("class", "selected-outline");
  regions.appendChild(selected);
  $("map").replaceChildren(svg);
  mapState.drawn = true;
  const missing = state.regions.filter((r) => !mapState.shapes.has(r.id)).map((r) => r.id);
  showMessage("map-message", missing.length
    ? `Not on the map (no outline in the installed boundaries): ${missing.join(", ")}.` : "");
  setMapView();
  highlightMap();
  await shadeMap();
}

// Colour every region with data by its newest interval: one request (GET /carbon-intensity/latest/).
async function shadeMap() {
  if (!mapState.drawn) return;
  const factor = $("factor").value, shading = ++mapState.shading;
  let answer = null, failure = "";
  try {
    answer = await getJSON("/carbon-intensity/latest/", { emission_factor_type: factor });
  } catch (err) {
    failure = err.message;
  }
  if (shading !== mapState.shading) return;  // the factor changed again meanwhile
  const latest = new Map((answer ? answer.regions : []).map((l) => [l.region, l]));
  for (const [id, shape] of mapState.shapes) {
    if (!shape.region) continue;
    const point = latest.get(id);
    const value = point && point.carbon_intensity !== null ? point.carbon_intensity : null;
    const label = value === null ? `${id} (${shape.region.name}): no current value`
      : `${id} (${shape.region.name}): ${value.toFixed(0)} gCO2eq/kWh at ${shortTime(point.timestamp)}`
        + `${point.stale ? " (feed stale)" : ""}`;
    shape.path.firstChild.textContent = label;
    shape.path.setAttribute("aria-label", `${label}; show this region`);
    if (value === null) shape.path.removeAttribute("fill"); else shape.path.setAttribute("fill", rampColour(value));
    shape.path.classList.toggle("novalue", value === null);
  }
  if (failure) showMessage("map-message", `Could not load the current intensities: ${failure}.`);
  $("map-legend").innerHTML = `<span>0</span><svg class="ramp" viewBox="0 0 ${RAMP.length} 1" preserveAspectRatio="none" aria-hidden="true">`
    + RAMP.map((c, i) => `<rect x="${i}" width="1.02" height="1" fill="${c}"/>`).join("")
    + `</svg><span>${RAMP_MAX}+ gCO2eq/kWh (${factor}, newest interval); grey: no data</span>`;
  const rows = state.regions.map((r) => latest.get(r.id)).filter(Boolean);
  offerCsv("map-csv", `regions_current_intensity_${factor}.csv`,
           ["region", "name", "source", "timestamp_utc", "carbon_intensity_gco2eq_per_kwh", "estimated", "stale"],
           rows.map((l) => [l.region, state.regions.find((r) => r.id === l.region).name, l.source, l.timestamp,
                            l.carbon_intensity, l.estimated, l.stale]));
  $("map").dataset.regions = String([...mapState.shapes.values()].filter((s) => s.path.hasAttribute("fill")).length);
  $("map").dataset.factor = factor;  // tests wait for this
}

// The part of the world shown: the preset area holding the selected region (the default), the
// region itself, every region with data, the world, or a preset area.
function setMapView() {
  if (!mapState.drawn) return;
  const view = $("map-view").value;
  const selected = mapState.shapes.get($("region").value);
  const withData = [...mapState.shapes.values()].filter((s) => s.region).map((s) => s.box);
  let viewBox;
  if (VIEWS[view]) viewBox = presetViewBox(boxOfDegrees(VIEWS[view]));
  else if (view === "selected" && selected) viewBox = viewBoxFor(selected.box);
  else if (view === "area" && selected) viewBox = areaViewBox(selected.box);
  else if (view === "world") viewBox = viewBoxFor([0, 0, WORLD_WIDTH, WORLD_HEIGHT], 0);
  else viewBox = viewBoxFor(unionBox(withData));  // every region with data (also "area" with none on the map)
  $("map").querySelector("svg").setAttribute("viewBox", viewBox);
  $("map").dataset.view = view;
}

const middle = (box) => [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
const holds = (area, [x, y]) => x >= area[0] && x <= area[2] && y >= area[1] && y <= area[3];

// The preset area holding the middle of `box`, else `box` with at least MIN_AREA_WIDTH around it.
function areaViewBox(box) {
  const area = Object.values(VIEWS).map(boxOfDegrees).find((a) => holds(a, middle(box)));
  return area ? presetViewBox(area) : viewBoxFor(box, 0.08, MIN_AREA_WIDTH);
}

// A preset area, fitted to the outlines drawn in it (the file has no land but its regions: the
// area's empty corners are not shown), or the whole area when none is.
function presetViewBox(area) {
  const inside = [...mapState.shapes.values()].filter((s) => holds(area, middle(s.box))).map((s) => s.box);
  return inside.length ? viewBoxFor(unionBox(inside), 0.04) : viewBoxFor(area, 0);
}

function highlightMap() {
  if (!mapState.drawn) return;
  const id = $("region").value;
  mapState.shapes.forEach((shape, code) => shape.path.classList.toggle("selected", code === id));
  const outline = $("map").querySelector("use.selected-outline");
  if (mapState.shapes.has(id)) outline.setAttribute("href", `#map-${id}`); else outline.removeAttribute("href");
  if (["selected", "area"].includes($("map-view").value)) setMapView();
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
  $("region-info").textContent = `${region.id}, ${region.name} (local time zone ${region.time_zone}): source `
    + `${source.name} (${source.interval_minutes}-minute), data ${shortTime(region.first_data)} to `
    + `${shortTime(region.newest_data)}.`;
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
  $("factor").addEventListener("change", () => { update(); shadeMap(); });
  $("region-filter").addEventListener("input", filterPicker);
  $("region-filter").addEventListener("keydown", pickFirstMatch);
  $("map-view").addEventListener("change", () => { setMapView(); writeHash(); });
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
  fillPicker();
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
