// End to end: the built page in a real headless Chromium, a fake camera playing a real face, and the
// real local stack (`python -m toolkit up`: redis-server, gateway, detector, classifier, recorder).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import msgpackParser from "socket.io-msgpack-parser";

const here = path.dirname(fileURLToPath(import.meta.url));
const frontend = path.resolve(here, "..");
const repo = path.resolve(frontend, "..");
const artifacts = path.join(repo, "test-artifacts");
const CHROMIUM = process.env.SENTIVIS_CHROMIUM ?? "/usr/bin/chromium";
const PYTHON = process.env.SENTIVIS_PYTHON
  ?? (existsSync(path.join(repo, ".venv/bin/python")) ? path.join(repo, ".venv/bin/python") : "python");
const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

let tmp, stack, browser, page, url, port, stackLog = "";
let database; // the stack's sessions database: the same file across a restart of the whole stack
const gatewayEvents = []; // what the gateway sent the first page, as decoded from its WebSocket: {event, payload}
let faceFractions; // the face in the fake camera's frame: [x0, y0, x1, y1] as fractions
let datasets; // the stack's datasets folder, with one data set in it
const TOKEN = randomBytes(16).toString("hex"); // the stack runs with authentication on, as deployed
const MAX_FPS = 20; // the stack's rate limit: the page must not offer more
// A person hidden this long comes back with their id: longer than the leaving clip's 3 s away, so the
// test sees them listed as recently seen (after the page's 1 s grace) and back.
const MAX_ABSENCE_S = 5;
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
];
const TIMELINE_COLUMNS = ["time_s", "frame_id", "face_id", "x", "y", "width", "height", "score", ...EMOTIONS, "label", "confidence"];
const DATASET = "e2e-fer2013.csv.gz";
const SESSIONS_PER_PAGE = 20; // the Sessions tab's page (src/lib/sessionList.ts)
// The shipped model the stack's classifier serves, as the page must name it: its stem and sha256.
const SHIPPED = path.join(repo, "classifier/models/emotion-net.onnx");
const SHIPPED_VERSION = `emotion-net-${createHash("sha256").update(readFileSync(SHIPPED)).digest("hex").slice(0, 8)}`;
const SHIPPED_CARD = JSON.parse(readFileSync(SHIPPED.replace(/\.onnx$/, ".card.json"), "utf8"));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the runner in its own process group; resolves with the URL it prints when ready. */
function startStack(port) {
  return new Promise((resolve, reject) => {
    // No training worker: no test trains (the training test follows a seeded job).
    const child = spawn(PYTHON, ["-m", "toolkit", "up", "--no-trainer-worker"], {
      cwd: repo,
      env: { ...process.env, SENTIVIS_GATEWAY_PORT: String(port), SENTIVIS_GATEWAY_HOST: "127.0.0.1",
             SENTIVIS_AUTH_TOKEN: TOKEN, SENTIVIS_DATASETS_DIR: datasets, SENTIVIS_MAX_FRAMES_PER_SECOND: String(MAX_FPS),
             SENTIVIS_TRACK_MAX_ABSENCE_S: String(MAX_ABSENCE_S), SENTIVIS_DATABASE_URL: database, PYTHONUNBUFFERED: "1" },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    stack = child;
    const timer = setTimeout(() => reject(new Error(`the stack printed no URL within 150 s:\n${stackLog.slice(-4000)}`)), 150_000);
    const from = stackLog.length; // a restart's URL, not the one an earlier run printed
    const onData = (chunk) => {
      stackLog += chunk.toString();
      const match = stackLog.slice(from).match(/running at (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited with code ${code}:\n${stackLog.slice(-4000)}`));
    });
  });
}

async function stopStack() {
  if (!stack || stack.exitCode !== null) return;
  const exited = new Promise((resolve) => stack.once("exit", resolve));
  try { process.kill(-stack.pid, "SIGTERM"); } catch { return; }
  const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), 15_000));
  if ((await Promise.race([exited, timeout])) === "timeout") {
    // The runner did not stop its children in time: end each child's session, then the runner's.
    const ps = spawnSync("ps", ["-o", "pid=", "--ppid", String(stack.pid)], { encoding: "utf8" });
    for (const pid of ps.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try { process.kill(-pid, "SIGKILL"); } catch { /* already gone */ }
    }
    try { process.kill(-stack.pid, "SIGKILL"); } catch { /* already gone */ }
  }
}

before(async () => {
  assert.ok(existsSync(path.join(frontend, "dist/index.html")), "frontend/dist is missing: run `npm run build` first");
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  tmp = mkdtempSync(path.join(os.tmpdir(), "sentivis-e2e-"));
  mkdirSync(artifacts, { recursive: true });
  const video = path.join(tmp, "face.y4m");
  const made = spawnSync(PYTHON, [path.join(here, "make_y4m.py"), video, "30"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(made.status, 0, `make_y4m.py failed: ${made.stderr}`);
  faceFractions = made.stdout.trim().split(/\s+/).map(Number);
  datasets = path.join(tmp, "datasets");
  mkdirSync(datasets);
  writeDataset();
  // The run's own sessions database (not the repository's data/), unless one is given, as tests/conftest.py does.
  database = process.env.SENTIVIS_DATABASE_URL || `sqlite:///${path.join(tmp, "sessions.db")}`;
  port = await freePort();
  url = await startStack(port);
  const context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${video}`],
  });
  browser = context;
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (err) => { stackLog += `\n[page error] ${err.message}`; });
  watchSocket(page, gatewayEvents);
});

/** Decodes what the gateway sends `p` over its MessagePack WebSocket (docs/PROTOCOL.md) into `sink`. */
function watchSocket(p, sink) {
  p.on("websocket", (ws) => {
    if (!ws.url().includes("/socket.io-msgpack/")) return;
    const decoder = new msgpackParser.Decoder();
    decoder.on("decoded", (packet) => {
      if (packet.type === msgpackParser.PacketType.EVENT) sink.push({ event: packet.data[0], payload: packet.data[1] });
    });
    ws.on("framereceived", ({ payload }) => { if (typeof payload !== "string") decoder.add(payload); });
  });
}

after(async () => {
  await browser?.close().catch(() => undefined);
  await stopStack();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A small file the datasets folder lists as a data set (the test never trains on it). */
function writeDataset() {
  writeFileSync(path.join(datasets, DATASET), "emotion,pixels,Usage\n");
}

/** scikit-image's astronaut as a JPEG: a real face for one-shot analysis. */
function astronautJpeg() {
  const made = spawnSync(PYTHON, ["-c", [
    "import io, sys, skimage.data; from PIL import Image",
    "b = io.BytesIO(); Image.fromarray(skimage.data.astronaut()).save(b, format='JPEG')",
    "sys.stdout.buffer.write(b.getvalue())"].join("\n")], { timeout: 60_000, maxBuffer: 10_000_000 });
  assert.equal(made.status, 0, String(made.stderr));
  return made.stdout;
}

/** The TrainConfig defaults of every job parameter, from Python: what the form must start with. */
function trainConfigDefaults() {
  const out = spawnSync(PYTHON, ["-c", [
    "import json; from sentivis import training",
    "print(json.dumps({p['name']: p['default'] for p in training.schema()}))"].join("\n")],
    { cwd: repo, encoding: "utf8", timeout: 60_000, env: { ...process.env, PYTHONPATH: repo } });
  assert.equal(out.status, 0, String(out.stderr));
  return JSON.parse(out.stdout);
}

/** A GET of the gateway's API from the page, with the token the page holds. */
function apiGet(pathname) {
  return page.evaluate((p) => fetch(p, { headers: { Authorization: `Bearer ${localStorage.getItem("sentivis.token")}` } })
    .then((r) => r.json()), pathname);
}

/** An API call from `on` (a page), with its token: the status and the JSON body, if any. */
function apiCall(on, method, pathname) {
  return on.evaluate(([m, p]) => fetch(p, { method: m, headers: { Authorization: `Bearer ${localStorage.getItem("sentivis.token")}` } })
    .then(async (r) => ({ status: r.status, body: await r.text().then((t) => (t ? JSON.parse(t) : null)) })), [method, pathname]);
}

/**
 * Waits until the session has ended and every frame the gateway answered while recording is written
 * (the recorder writes a moment after the stop), then refreshes the Sessions tab of `on`: its row there.
 */
async function waitWritten(on, sessionId, timeout = 30_000) {
  const row = on.locator(`[data-testid=session-row][data-session-id="${sessionId}"]`);
  const deadline = Date.now() + timeout;
  for (;;) {
    const detail = await apiCall(on, "GET", `/api/v1/sessions/${sessionId}`);
    const written = detail.status === 200 && detail.body.ended_at !== null
      && detail.body.frames + detail.body.gap_frames === detail.body.reported_frames;
    if (written) {
      await on.locator(".sessions").getByRole("button", { name: "Refresh" }).click();
      await row.waitFor({ timeout: 10_000 });
      return row;
    }
    assert.ok(Date.now() < deadline, `session ${sessionId} not written within ${timeout} ms: ${JSON.stringify(detail)}`);
    await on.waitForTimeout(250);
  }
}

/** On failure: a screenshot of the page and the stack's last log lines, to see why. */
function withDiagnostics(name, body) {
  return async () => {
    try {
      await body();
    } catch (error) {
      const file = path.join(artifacts, `e2e-failure-${name.replace(/\W+/g, "-").slice(0, 40)}.png`);
      await page?.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      const state = await page?.evaluate(() => document.querySelector("main")?.innerText.slice(0, 1500)).catch(() => "");
      error.message += `\n--- page text ---\n${state}\n--- stack log (tail) ---\n${stackLog.slice(-3000)}\n--- screenshot: ${file}`;
      throw error;
    }
  };
}

function liveTest(name, timeout, body) {
  test(name, { timeout }, withDiagnostics(name, body));
}

/** The overlay's faces as the page lists them, with boxes in stage pixels. */
async function overlayFaces() {
  return page.$$eval("[data-testid=overlay-face]", (items) => items.map((li) => ({
    id: Number(li.dataset.faceId),
    label: li.dataset.label,
    box: li.dataset.box.split(",").map(Number),
  })));
}

/** Where the video's picture lies inside the stage (object-fit: contain), in stage pixels. */
async function pictureRect() {
  return page.$eval("[data-testid=live-stage] video", (v) => {
    const scale = Math.min(v.clientWidth / v.videoWidth, v.clientHeight / v.videoHeight);
    const width = v.videoWidth * scale;
    const height = v.videoHeight * scale;
    return { x: (v.clientWidth - width) / 2, y: (v.clientHeight - height) / 2, width, height };
  });
}

/** Clicks a download button of `on` and returns the file the page saved: its name and text. */
async function downloaded(on, name) {
  const [download] = await Promise.all([on.waitForEvent("download", { timeout: 30_000 }),
                                        on.getByRole("button", { name }).click()]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path(), "utf8") };
}

function centreFraction(face, picture) {
  const [x, y, w, h] = face.box;
  return [(x + w / 2 - picture.x) / picture.width, (y + h / 2 - picture.y) / picture.height];
}

liveTest("the live page boxes the face where it is, mirrored, with live status", 360_000, async () => {
  // Generous waits: CI shares two cores with a training run and the other services.
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 90_000 });
  // The gateway wants its token: the page asks for it, a wrong one is refused, the right one connects.
  await page.waitForSelector("[data-testid=token-prompt]", { timeout: 90_000 });
  assert.equal(await page.getAttribute("[data-testid=status-connection]", "data-state"), "unauthorized");
  await page.getByLabel("Access token").fill("not-the-token");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.screenshot({ path: path.join(artifacts, "e2e-token.png") });
  await page.waitForFunction(() => /was not accepted/.test(document.querySelector("[data-testid=token-prompt]")?.textContent ?? ""),
    null, { timeout: 30_000 });
  await page.getByLabel("Access token").fill(TOKEN);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.waitForSelector("[data-testid=status-connection][data-state=connected]", { timeout: 45_000 });
  await page.waitForSelector("[data-testid=token-prompt]", { state: "detached", timeout: 30_000 });
  await page.getByRole("button", { name: "Start camera" }).first().click();
  await page.waitForSelector("[data-testid=live-stage][data-camera=streaming]", { timeout: 45_000 });
  await page.waitForSelector("[data-testid=overlay-face]", { state: "attached", timeout: 120_000 });

  const picture = await pictureRect();
  const [face] = await overlayFaces();
  const [x0, y0, x1, y1] = faceFractions;
  const [cx, cy] = centreFraction(face, picture);
  // Mirrored view: the face, left of centre in the camera's frame, shows right of centre.
  assert.ok(Math.abs(cx - (1 - (x0 + x1) / 2)) < 0.08, `mirrored box centre x ${cx.toFixed(3)} is not where the face is`);
  assert.ok(Math.abs(cy - (y0 + y1) / 2) < 0.1, `box centre y ${cy.toFixed(3)} is not where the face is`);
  assert.ok(face.box[2] > picture.width * 0.08 && face.box[2] < picture.width * 0.5, `box width ${face.box[2]} is implausible`);

  // The same face unmirrored sits where the camera saw it.
  await page.getByLabel("Mirror view").uncheck();
  await page.waitForFunction((min) => {
    const li = document.querySelector("[data-testid=overlay-face]");
    const v = document.querySelector("[data-testid=live-stage] video");
    if (!li || !v) return false;
    const [x, , w] = li.dataset.box.split(",").map(Number);
    return (x + w / 2) < v.clientWidth / 2 - min;
  }, 5, { timeout: 30_000 });
  const [plain] = await overlayFaces();
  const [px] = centreFraction(plain, await pictureRect());
  assert.ok(Math.abs(px - (x0 + x1) / 2) < 0.08, `unmirrored box centre x ${px.toFixed(3)} is not where the face is`);
  await page.getByLabel("Mirror view").check();

  // A narrow window: the stage shrinks and the box follows the face.
  await page.setViewportSize({ width: 700, height: 900 });
  await page.waitForFunction((w) => document.querySelector("[data-testid=live-stage]").clientWidth < w, picture.width,
    { timeout: 30_000 });
  await page.waitForTimeout(500); // the next answers are placed with the new size
  const small = await pictureRect();
  const [narrow] = await overlayFaces();
  const [nx, ny] = centreFraction(narrow, small);
  assert.ok(Math.abs(nx - (1 - (x0 + x1) / 2)) < 0.08 && Math.abs(ny - (y0 + y1) / 2) < 0.1,
    `after resizing, the box centre (${nx.toFixed(3)}, ${ny.toFixed(3)}) is not where the face is`);
  await page.screenshot({ path: path.join(artifacts, "e2e-live-narrow.png"), fullPage: true });
  await page.setViewportSize({ width: 1440, height: 1000 });

  // Emotion: the shipped model is loaded, names itself and its accuracy, and labels the face.
  await page.waitForSelector("[data-testid=status-model][data-ready=true]", { timeout: 30_000 });
  assert.match(await page.textContent("[data-testid=status-model]"), /Emotion Model Ready/);
  assert.equal((await page.textContent("[data-testid=model-version]")).trim(), SHIPPED_VERSION);
  assert.equal((await page.textContent("[data-testid=model-accuracy]")).trim(),
    `${(SHIPPED_CARD.metrics.test.accuracy * 100).toFixed(1)}%`);
  await page.waitForFunction(() => document.querySelector("[data-testid=overlay-face]")?.dataset.label, null, { timeout: 30_000 });
  const [labelled] = await overlayFaces();
  assert.ok(EMOTIONS.includes(labelled.label), `unknown label ${labelled.label}`);
  const card = page.locator("[data-testid=person-card]").first();
  assert.equal(await card.locator("[data-testid=probability]").count(), 7);
  assert.match(await card.locator("[data-testid=face-label]").textContent(), new RegExp(`^(${EMOTIONS.join("|")}) · \\d+%$`));

  // Frame rates above the gateway's announced limit cannot be chosen.
  const rates = await page.$$eval("[data-testid=fps-select] option", (options) =>
    options.map((o) => [Number(o.value), o.disabled]));
  assert.deepEqual(rates, [5, 10, 15, 20, 30].map((fps) => [fps, fps > MAX_FPS]));

  // Status cards show live numbers.
  await page.waitForFunction(() => {
    const n = (id) => parseFloat(document.querySelector(`[data-testid=${id}]`)?.textContent ?? "");
    return n("fps-sent") > 0 && n("fps-received") > 0 && n("rtt-median") > 0 && n("rtt-p95") > 0;
  }, null, { timeout: 30_000 });
  const text = async (id) => (await page.textContent(`[data-testid=${id}]`)).trim();
  assert.match(await text("rtt-median"), /^\d+(\.\d)? ms$/);
  assert.match(await text("server-ms"), /^\d+(\.\d)? ms$/);
  assert.equal(await page.getAttribute("[data-testid=status-connection]", "data-state"), "connected");

  // Let the timeline gather a few seconds, then keep a picture of the page.
  await page.waitForTimeout(4_000);
  const span = Number(await card.getAttribute("data-span-seconds"));
  const samples = Number(await card.getAttribute("data-samples"));
  assert.ok(span >= 3 && samples >= 10, `the face's timeline holds ${samples} samples over ${span} s`);

  // The person's session so far: time in view, the dominant emotion, each emotion's share of the time.
  const personId = Number(await card.getAttribute("data-person-id"));
  const summary = card.locator("[data-testid=person-summary]");
  const inView = Number(await summary.getAttribute("data-in-view-seconds"));
  assert.ok(inView >= 3, `in view for ${inView} s`);
  const dominant = await summary.getAttribute("data-dominant");
  assert.ok(EMOTIONS.includes(dominant), `dominant emotion ${dominant}`);
  const shares = await card.locator("[data-testid=emotion-share]").evaluateAll((items) =>
    items.map((li) => [li.dataset.label, Number(li.dataset.share)]));
  assert.ok(Math.abs(shares.reduce((sum, [, v]) => sum + v, 0) - 1) < 0.03, `shares ${JSON.stringify(shares)}`); // < 0.5 % unlisted
  assert.equal(shares.reduce((best, s) => (s[1] > best[1] ? s : best))[0], dominant);
  assert.equal(await page.locator("[data-testid=person-card]").count(), 1, "one face, one person");

  // The session's timeline, downloaded from the page: one row per answered frame, all of this one person.
  const csv = await downloaded(page, "Download CSV");
  assert.match(csv.name, /^sentivis-session-[\dT-]+\.csv$/);
  const [header, ...rows] = csv.text.trim().split("\n").map((line) => line.split(","));
  assert.deepEqual(header, TIMELINE_COLUMNS);
  assert.ok(rows.length >= samples, `${rows.length} CSV rows, ${samples} samples in the chart`);
  const column = (name) => header.indexOf(name);
  let last = -1;
  for (const row of rows) {
    assert.equal(Number(row[column("face_id")]), personId, `a row of someone else: ${row}`);
    assert.ok(Number(row[column("time_s")]) >= last, "rows in time order");
    last = Number(row[column("time_s")]);
    assert.ok(EMOTIONS.includes(row[column("label")]), `label ${row[column("label")]}`);
    const total = EMOTIONS.reduce((sum, e) => sum + Number(row[column(e)]), 0);
    assert.ok(Math.abs(total - 1) < 0.01, `probabilities sum to ${total}`);
  }
  // The boxes are in the sent frame's pixels (320x240, never mirrored), on the face.
  const [x, , w] = ["x", "y", "width"].map((c) => Number(rows[rows.length - 1][column(c)]));
  assert.ok(Math.abs((x + w / 2) / 320 - (x0 + x1) / 2) < 0.08, `CSV box centre x ${x + w / 2}`);
  const json = await downloaded(page, "Download JSON");
  assert.match(json.name, /^sentivis-session-[\dT-]+\.json$/);
  const doc = JSON.parse(json.text);
  assert.ok(doc.rows.length >= rows.length && doc.dropped_rows === 0);
  assert.deepEqual(Object.keys(doc.rows[0]), ["time_s", "frame_id", "face_id", "box", "score", "label", "confidence",
                                              "probabilities"]);
  const [person] = doc.people;
  assert.equal(doc.people.length, 1);
  assert.equal(person.face_id, personId);
  assert.ok(person.in_view_s >= inView - 0.5 && EMOTIONS.includes(person.dominant), JSON.stringify(person));
  assert.ok(Math.abs(Object.values(person.shares).reduce((a, b) => a + b, 0) - 1) < 1e-6);
  await page.screenshot({ path: path.join(artifacts, "e2e-live.png"), fullPage: true });
});

liveTest("the training and photo tabs answer with readable text", 150_000, async () => {
  // The tabs work from the keyboard: arrows move between them.
  await page.getByRole("tab", { name: "Live camera" }).focus();
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.getAttribute("#tab-training", "aria-selected"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "tab-training");
  await page.getByRole("heading", { name: "Model versions" }).waitFor({ timeout: 30_000 });

  // The form starts from TrainConfig's defaults (the shipped model's recipe), as the browser shows them.
  await page.waitForSelector("#train-learning_rate", { timeout: 30_000 });
  const defaults = trainConfigDefaults();
  const shown = await page.$$eval(".train-form :is(input, select)[id^=train-]:not(#train-dataset)", (inputs) =>
    Object.fromEntries(inputs.map((i) => [i.id.slice("train-".length), i.value])));
  assert.deepEqual(shown, Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : String(v)])));
  assert.equal(shown.learning_rate, "0.05");
  assert.equal(Number(shown.epochs), defaults.epochs);
  // The data set put in the datasets folder is the one to choose.
  assert.deepEqual(await page.$$eval("[data-testid=dataset-select] option", (o) => o.map((x) => x.value)), [DATASET]);

  // The duration estimate: the server's, for a CPU like the one that trained the shipped model.
  const options = await apiGet("/api/v1/training/options");
  const estimate = page.locator("[data-testid=training-estimate]");
  assert.equal(Number(await estimate.getAttribute("data-seconds")), options.estimate.seconds);
  assert.match(await estimate.textContent(), new RegExp(`^Takes about \\d+ (min|h)[^(]* on a CPU like ${SHIPPED_CARD.speed.cpu.replace(/[()]/g, "\\$&")}`));
  // ... and it follows the form: a quarter of the epochs, a quarter of the time.
  await page.getByLabel("Epochs", { exact: true }).fill(String(defaults.epochs / 4));
  await page.waitForFunction((want) => Math.abs(Number(document.querySelector("[data-testid=training-estimate]")?.dataset.seconds) - want) <= 1,
    options.estimate.seconds / 4, { timeout: 30_000 });
  await page.getByLabel("Epochs", { exact: true }).fill(String(defaults.epochs));

  // A bad form value is refused in the page with the schema's range, before anything is sent.
  const lr = options.parameters.find((p) => p.name === "learning_rate");
  await page.getByLabel("Learning rate", { exact: true }).fill("0");
  await page.getByRole("button", { name: "Start training" }).click();
  assert.equal(await page.locator("[data-testid=training-error]").textContent({ timeout: 30_000 }),
    `Learning rate must be a number from ${lr.minimum} to ${lr.maximum}.`);
  await page.getByLabel("Learning rate", { exact: true }).fill(shown.learning_rate);

  // An error from the API is shown in its own words: the data set went away after the page listed it.
  rmSync(path.join(datasets, DATASET));
  await page.getByRole("button", { name: "Start training" }).click();
  await page.waitForFunction(() => /^HTTP /.test(document.querySelector("[data-testid=training-error]")?.textContent ?? ""),
    null, { timeout: 30_000 });
  assert.equal(await page.locator("[data-testid=training-error]").textContent(),
    `HTTP 400: dataset '${DATASET}' does not exist in the datasets folder`);
  // An empty datasets folder says what to put there, and nothing can be started.
  await page.locator(".train-form").getByRole("button", { name: "Refresh" }).click();
  assert.match(await page.locator("[data-testid=datasets-empty]").textContent({ timeout: 30_000 }), /datasets\/README\.md/);
  assert.equal(await page.getByRole("button", { name: "Start training" }).isDisabled(), true);
  writeDataset();
  await page.locator(".train-form").getByRole("button", { name: "Refresh" }).click();
  await page.waitForSelector("[data-testid=datasets-empty]", { state: "detached", timeout: 30_000 });
  assert.equal(await page.inputValue("[data-testid=dataset-select]"), DATASET);

  // The shipped model is a version, and the one served.
  const shipped = page.locator(`[data-testid=model-row][data-version="${SHIPPED_VERSION}"]`);
  await shipped.waitFor({ timeout: 30_000 });
  assert.equal(await shipped.getAttribute("data-shipped"), "true");
  assert.equal(await shipped.getAttribute("data-active"), "true");
  assert.match(await shipped.textContent(), new RegExp(`shipped.*${(SHIPPED_CARD.metrics.test.accuracy * 100).toFixed(1)}%.*active`));
  await page.screenshot({ path: path.join(artifacts, "e2e-training-form.png"), fullPage: true });

  await page.getByRole("tab", { name: "Analyse a photo" }).click();
  await page.setInputFiles("#analyze-file", { name: "astronaut.jpg", mimeType: "image/jpeg", buffer: astronautJpeg() });
  await page.waitForFunction(() => document.querySelector("[data-testid=analyze-error]")
    || document.querySelector("[data-testid=analyze-faces] article, [data-testid=analyze-faces] p"), null, { timeout: 30_000 });
  assert.equal(await page.locator("[data-testid=analyze-error]").count(), 0);
  // The astronaut's face spans about x 170-265, y 75-175 of the 512x512 picture.
  const faces = await page.$$eval("[data-testid=analyze-face]", (els) => els.map((e) => ({
    box: e.dataset.box.split(",").map(Number), label: e.dataset.label })));
  const astronaut = faces.find(({ box: [x, y, w, h] }) => Math.abs(x + w / 2 - 217) < 30 && Math.abs(y + h / 2 - 125) < 35);
  assert.ok(astronaut, `no face box on the astronaut's face: ${JSON.stringify(faces)}`);
  assert.ok(EMOTIONS.includes(astronaut.label), `the astronaut's face has no emotion label: ${astronaut.label}`);
  await page.screenshot({ path: path.join(artifacts, "e2e-analyze.png"), fullPage: true });
});

liveTest("a lost gateway shows as reconnecting, ends the recording, and frames resume when it is back", 180_000, async () => {
  await page.getByRole("tab", { name: "Live camera" }).click();
  // Recording when the gateway goes: the page must say the recording ended, and not claim it after the reconnect.
  const recordSwitch = page.getByRole("switch", { name: "Record" });
  await page.getByLabel("Session name").fill("interrupted by a crash");
  await recordSwitch.click();
  await page.waitForSelector("[data-testid=recording-indicator]", { timeout: 30_000 });
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=recording-indicator]")?.dataset.frames) >= 3,
    null, { timeout: 30_000 });
  const interrupted = await page.getAttribute("[data-testid=recording-indicator]", "data-session-id");
  const received = async () => Number((await page.textContent("[data-testid=status-throughput] .hint")).match(/(\d+) answered/)[1]);
  // The runner's gateway process (a child of the runner we started), found by its command line.
  const ps = spawnSync("ps", ["-o", "pid=,args=", "--ppid", String(stack.pid)], { encoding: "utf8" });
  const line = ps.stdout.split("\n").find((l) => / -m gateway\b/.test(l));
  assert.ok(line, `no gateway process under the runner:\n${ps.stdout}`);
  const gatewayPid = Number(line.trim().split(/\s+/)[0]);
  const before = await received();
  // The gateway runs in its own session (gunicorn master and workers): end that whole group, as a crash would.
  process.kill(-gatewayPid, "SIGKILL");

  await page.waitForSelector("[data-testid=status-connection][data-state=reconnecting]", { timeout: 30_000 });
  assert.match(await page.textContent("[data-testid=connection-state]"), /Reconnecting/);
  assert.match(await page.textContent("[role=alert].banner"), /Lost the connection/);
  const ended = page.locator("[data-testid=recording-ended]");
  await ended.waitFor({ timeout: 10_000 });
  assert.equal(await ended.getAttribute("data-reason"), "disconnected");
  assert.equal(await ended.getAttribute("data-session-id"), interrupted);
  assert.match(await ended.textContent(), /^The connection to the gateway was lost at .*, which ended the recording “interrupted by a crash”/);
  await page.screenshot({ path: path.join(artifacts, "e2e-reconnecting.png") });
  // The runner restarts the gateway; the page reconnects on its own and frames flow again.
  await page.waitForSelector("[data-testid=status-connection][data-state=connected]", { timeout: 60_000 });
  await page.waitForFunction((n) => {
    const m = document.querySelector("[data-testid=status-throughput] .hint")?.textContent?.match(/(\d+) answered/);
    return m && Number(m[1]) > n + 5;
  }, before, { timeout: 30_000 });
  await page.waitForSelector("[data-testid=overlay-face]", { state: "attached", timeout: 30_000 });
  // Back and streaming, and honestly not recording: the switch is off, no indicator, no REC badge, the notice stays.
  assert.equal(await recordSwitch.getAttribute("aria-checked"), "false");
  assert.equal(await page.locator("[data-testid=recording-indicator], [data-testid=recording-badge]").count(), 0);
  assert.equal(await page.getAttribute("[data-testid=record]", "data-phase"), "off");
  assert.equal(await ended.getAttribute("data-reason"), "disconnected");
});

liveTest("a training job's progress, curves and metrics show, and a version can be activated and rolled back", 180_000, async () => {
  // The stack's private Redis, from the redis-server the runner started.
  const ps = spawnSync("ps", ["-o", "args=", "--ppid", String(stack.pid)], { encoding: "utf8" });
  const port = ps.stdout.match(/redis-server\s+\S*:(\d+)/)?.[1];
  assert.ok(port, `no redis-server under the runner:\n${ps.stdout}`);
  const seeded = spawnSync(PYTHON, [path.join(here, "seed_training.py"), `redis://127.0.0.1:${port}/0`, tmp],
    { cwd: repo, encoding: "utf8", timeout: 60_000, env: { ...process.env, PYTHONPATH: repo } });
  assert.equal(seeded.status, 0, `seed_training.py failed: ${seeded.stderr}`);
  const { job, versions: [older, newer] } = JSON.parse(seeded.stdout.trim().split("\n").pop());

  // The panel follows the job remembered from an earlier visit (a seeded one: the test trains nothing).
  await page.getByRole("tab", { name: "Live camera" }).click();
  await page.evaluate((id) => localStorage.setItem("sentivis.trainingJob", id), job);
  await page.getByRole("tab", { name: "Training & models" }).click();
  await page.waitForSelector("[data-testid=training-job][data-state=succeeded]", { timeout: 30_000 });
  const bar = page.getByRole("progressbar", { name: "Training progress" });
  assert.equal(await bar.getAttribute("aria-valuenow"), "3");
  assert.equal(await bar.getAttribute("aria-valuemax"), "3");
  assert.equal(await page.getByRole("figure", { name: "Loss per epoch" }).count(), 1);
  assert.equal(await page.getByRole("figure", { name: "Accuracy per epoch" }).count(), 1);
  const finished = await page.locator(".finished").textContent();
  assert.match(finished, new RegExp(newer));
  assert.match(finished, /test accuracy\s*60\.0%/);

  // Two trained versions beside the shipped one, the older active; activate the newer, then roll back.
  const row = (v) => page.locator(`[data-testid=model-row][data-version="${v}"]`);
  await row(newer).waitFor({ timeout: 30_000 });
  assert.deepEqual(await page.$$eval("[data-testid=model-row]", (rows) => rows.map((r) => r.dataset.version)),
    [newer, older, SHIPPED_VERSION]);
  assert.equal(await row(older).getAttribute("data-active"), "true");
  await row(newer).getByRole("button", { name: "Activate" }).click();
  await row(older).getByRole("button", { name: "Roll back to this" }).waitFor({ timeout: 30_000 });
  assert.equal(await row(newer).getAttribute("data-active"), "true");
  assert.equal((await apiGet("/api/v1/models")).active, newer);
  await page.screenshot({ path: path.join(artifacts, "e2e-training.png"), fullPage: true });
  await row(older).getByRole("button", { name: "Roll back to this" }).click();
  await row(newer).getByRole("button", { name: "Activate" }).waitFor({ timeout: 30_000 });
  assert.equal((await apiGet("/api/v1/models")).active, older);

  // Back to the shipped model: every classifier serves it again, without a restart.
  await row(SHIPPED_VERSION).getByRole("button", { name: "Roll back to this" }).click();
  await row(older).getByRole("button", { name: "Activate" }).waitFor({ timeout: 30_000 });
  assert.equal(await row(SHIPPED_VERSION).getAttribute("data-active"), "true");
  assert.equal((await apiGet("/api/v1/models")).active, SHIPPED_VERSION);
  const served = async () => (await apiGet("/readyz")).models.emotion;
  const deadline = Date.now() + 30_000;
  while ((await served()).version !== SHIPPED_VERSION) {
    assert.ok(Date.now() < deadline, `the classifier still serves ${JSON.stringify(await served())}`);
    await page.waitForTimeout(250);
  }
  assert.equal((await served()).sha256, createHash("sha256").update(readFileSync(SHIPPED)).digest("hex"));
  await page.getByRole("tab", { name: "Live camera" }).click();
  await page.waitForFunction((v) => document.querySelector("[data-testid=model-version]")?.textContent === v,
    SHIPPED_VERSION, { timeout: 30_000 });
});

liveTest("a person who leaves the view is listed as recently seen, comes back with their id, and is a gap in the recording", 240_000, async () => {
  // A second browser whose camera shows the face 4 s, then covers it 3 s, in a loop. The first page's
  // camera stops: the two cores are this one's.
  await page.getByRole("tab", { name: "Live camera" }).click();
  await page.getByRole("button", { name: "Stop camera" }).click();
  const clip = path.join(tmp, "leaving.y4m");
  const made = spawnSync(PYTHON, [path.join(here, "make_y4m.py"), clip, "--leaving", "4", "3"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(made.status, 0, `make_y4m.py failed: ${made.stderr}`);
  const context = await chromium.launchPersistentContext(path.join(tmp, "profile-leaving"), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1440, height: 1000 },
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${clip}`],
  });
  const other = context.pages()[0] ?? (await context.newPage());
  try {
    await other.addInitScript((token) => localStorage.setItem("sentivis.token", token), TOKEN);
    await other.goto(url, { waitUntil: "domcontentloaded", timeout: 90_000 });
    await other.waitForSelector("[data-testid=status-connection][data-state=connected]", { timeout: 45_000 });
    await other.getByRole("button", { name: "Start camera" }).first().click();
    const id = await (await other.waitForSelector("[data-testid=person-card]", { timeout: 120_000 })).getAttribute("data-person-id");
    const card = `[data-testid=person-card][data-person-id="${id}"]`;
    const listed = `[data-testid=recent-person][data-person-id="${id}"]`;
    // Recorded while the person leaves and comes back: their chart in the session shows the absence as a gap.
    await other.getByLabel("Session name").fill("leaving and coming back");
    await other.getByRole("switch", { name: "Record" }).click();
    await other.waitForSelector("[data-testid=recording-indicator]", { timeout: 30_000 });
    // Covered: no card, a line in "recently seen" with the person's summary.
    await other.waitForSelector(listed, { timeout: 30_000 });
    assert.equal(await other.locator(card).count(), 0);
    assert.match(await other.locator(listed).textContent(), new RegExp(`^#${id}( · mostly (${EMOTIONS.join("|")}))? · \\d+ s in view · left \\d+ s ago$`));
    await other.screenshot({ path: path.join(artifacts, "e2e-recently-seen.png"), fullPage: true });
    // Back within SENTIVIS_TRACK_MAX_ABSENCE_S: the gateway's tracker knows them, the page shows them in view again.
    await other.waitForSelector(card, { timeout: 30_000 });
    await other.waitForSelector(listed, { state: "detached", timeout: 10_000 });
    assert.deepEqual(await other.$$eval("[data-testid=person-card]", (cards) => cards.map((c) => c.dataset.personId)), [id]);

    const rows = async () => Number(await other.getAttribute("[data-testid=recording-indicator]", "data-rows"));
    const back = await rows();
    await other.waitForFunction((n) => Number(document.querySelector("[data-testid=recording-indicator]")?.dataset.rows) >= n + 5,
      back, { timeout: 30_000 });
    await other.getByRole("switch", { name: "Record" }).click();
    const ended = await other.waitForSelector("[data-testid=recording-ended][data-reason=stopped]", { timeout: 30_000 });
    const sessionId = await ended.getAttribute("data-session-id");
    await other.getByRole("tab", { name: "Sessions" }).click();
    await waitWritten(other, sessionId);
    await other.locator(`[data-testid=session-row][data-session-id="${sessionId}"] a`).click();
    const timeline = other.locator(`[data-testid=person-timeline][data-person-id="${id}"]`);
    await timeline.locator("canvas").first().waitFor({ timeout: 30_000 });
    assert.equal(await other.locator("[data-testid=person-timeline]").count(), 1, "one person, the same id through the absence");
    assert.ok(Number(await timeline.getAttribute("data-gaps")) >= 1, "the absence is a gap in the chart");
    const summary = other.locator(`[data-testid=summary-row][data-person-id="${id}"]`);
    const { body: recorded } = await apiCall(other, "GET", `/api/v1/sessions/${sessionId}`);
    assert.ok(Number(await summary.getAttribute("data-in-view-seconds")) < recorded.duration_s - 2,
      "time in view leaves out the time away");
    await other.screenshot({ path: path.join(artifacts, "e2e-session-gap.png"), fullPage: true });
  } catch (error) {
    await other.screenshot({ path: path.join(artifacts, "e2e-failure-recently-seen.png"), fullPage: true }).catch(() => undefined);
    throw error;
  } finally {
    await context.close();
  }
});

liveTest("a session recorded from the page is listed, opened, exported, survives a restart and is deleted", 300_000, async () => {
  await page.getByRole("tab", { name: "Live camera" }).click();
  await page.getByRole("button", { name: "Start camera" }).first().click();
  await page.waitForSelector("[data-testid=overlay-face]", { state: "attached", timeout: 60_000 });
  const recordSwitch = page.getByRole("switch", { name: "Record" });
  const name = `e2e study ${randomBytes(3).toString("hex")}`;

  // Consent first: the switch says where the privacy text is, and the app serves that text itself.
  await page.getByTestId("privacy-link").click();
  const privacy = page.getByRole("dialog", { name: "Privacy: what a recorded session keeps" });
  await privacy.waitFor({ timeout: 10_000 });
  assert.match(await privacy.textContent(), /Never images/);
  await privacy.getByText("The full text (docs/PRIVACY.md of this version)").click();
  const fullText = privacy.getByTestId("privacy-text");
  await fullText.getByRole("heading", { name: "Legal context to check before use" }).waitFor({ timeout: 10_000 });
  assert.match(await fullText.textContent(), /Article 5\(1\)\(f\)/);
  await privacy.getByRole("button", { name: "Close" }).click();
  await privacy.waitFor({ state: "hidden", timeout: 10_000 });
  assert.equal(await page.getAttribute("#tab-live", "aria-selected"), "true");

  // No name, no recording: said in words, and nothing asked of the gateway.
  const asked = gatewayEvents.length;
  await page.getByLabel("Session name").fill("   ");
  await recordSwitch.click();
  assert.match(await page.getByTestId("record-error").textContent(), /^Give the session a name before recording/);
  assert.equal(await recordSwitch.getAttribute("aria-checked"), "false");

  // On with a name: the gateway confirms, the page shows the session's name, time and answers.
  await page.getByLabel("Session name").fill(name);
  await recordSwitch.click();
  const indicator = page.getByTestId("recording-indicator");
  await indicator.waitFor({ timeout: 30_000 });
  assert.equal(await recordSwitch.getAttribute("aria-checked"), "true");
  assert.match(await indicator.textContent(), new RegExp(`^Recording “${name}” · \\d+ s · \\d+ answers?, \\d+ person rows$`));
  await page.waitForFunction(() => Number(document.querySelector("[data-testid=recording-indicator]")?.dataset.frames) >= 30,
    null, { timeout: 60_000 });
  assert.match(await page.getByTestId("recording-badge").textContent(), /^REC \d+ s$/);
  await page.screenshot({ path: path.join(artifacts, "e2e-recording.png") });
  await recordSwitch.click();
  const ended = page.locator("[data-testid=recording-ended][data-reason=stopped]");
  await ended.waitFor({ timeout: 30_000 });
  const id = await ended.getAttribute("data-session-id");
  assert.match(await ended.textContent(), new RegExp(`^Recorded “${name}”: \\d+ s, \\d+ answers\\. Open it in Sessions$`));

  // What the gateway told this page between its `session` events: the answers recorded, one row per face.
  const events = gatewayEvents.slice(asked);
  const start = events.findIndex((e) => e.event === "session" && e.payload.recording && e.payload.id === id);
  const stop = events.findIndex((e) => e.event === "session" && !e.payload.recording && e.payload.id === id);
  assert.ok(start >= 0 && stop > start, `no session events for ${id}: ${JSON.stringify(events.filter((e) => e.event !== "inference"))}`);
  assert.equal(events[start].payload.name, name);
  assert.equal(events.slice(0, start).filter((e) => e.event.startsWith("session")).length, 0, "the nameless try asked nothing");
  const answered = events.slice(start + 1, stop).filter((e) => e.event === "inference").map((e) => e.payload);
  const told = answered.flatMap((a) => a.faces.map((f) => [a.frame_id, f.id, f.emotion?.label ?? ""].join(","))).sort();
  assert.equal(Number(await ended.getAttribute("data-frames")), answered.length);
  assert.equal(Number(await ended.getAttribute("data-rows")), told.length);

  // The Sessions tab lists it with its people; its view has the summary and a chart per person.
  await page.getByRole("link", { name: "Open it in Sessions" }).click();
  await page.waitForSelector(`[data-testid=session-view][data-session-id="${id}"]`, { timeout: 10_000 });
  await page.getByRole("button", { name: "All sessions" }).click();
  const row = await waitWritten(page, id);
  assert.equal(await row.locator("a").textContent(), name);
  assert.equal(await row.getAttribute("data-people"), "1");
  assert.equal(Number(await row.getAttribute("data-frames")), answered.length);
  await page.screenshot({ path: path.join(artifacts, "e2e-sessions.png"), fullPage: true });
  await row.locator("a").click();
  const view = page.locator(`[data-testid=session-view][data-session-id="${id}"][data-state=loaded]`);
  await view.waitFor({ timeout: 30_000 });
  const summary = await sessionSummary(page);
  assert.equal(summary.length, 1);
  assert.ok(EMOTIONS.includes(summary[0].dominant), JSON.stringify(summary));
  assert.ok(Math.abs(summary[0].shares.reduce((a, b) => a + b, 0) - 1) < 0.01, JSON.stringify(summary));
  const timeline = page.locator("[data-testid=person-timeline]");
  await timeline.locator("canvas").first().waitFor({ timeout: 30_000 });
  assert.equal(await timeline.getAttribute("data-person-id"), String(summary[0].id));
  assert.ok(Number(await timeline.getAttribute("data-points")) >= 10);
  await page.screenshot({ path: path.join(artifacts, "e2e-session.png"), fullPage: true });

  // The CSV: the page's columns, one row per face answered while recording, as the gateway told the page.
  const csv = await downloaded(page, "Download CSV");
  assert.match(csv.name, /^sentivis-e2e-study-[0-9a-f]{6}-\d{4}-\d\d-\d\dT\d{4}\.csv$/);
  const [header, ...lines] = csv.text.trim().split("\n").map((line) => line.split(","));
  assert.deepEqual(header, TIMELINE_COLUMNS);
  const column = (c) => header.indexOf(c);
  assert.equal(lines.length, told.length);
  assert.deepEqual(lines.map((r) => [r[column("frame_id")], r[column("face_id")], r[column("label")]].join(",")).sort(), told);
  const jsonl = await downloaded(page, "Download JSONL");
  assert.match(jsonl.name, /\.jsonl$/);
  const records = jsonl.text.trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(records.length, told.length);
  assert.ok(records.every((r) => r.raw && EMOTIONS.every((e) => typeof r.raw[e] === "number")));

  // The whole stack stops and starts again on the same database: another browser opens the session.
  await stopStack();
  url = await startStack(port);
  const context = await chromium.launchPersistentContext(path.join(tmp, "profile-after-restart"), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1440, height: 1000 }, args: CHROMIUM_ARGS,
  });
  const other = context.pages()[0] ?? (await context.newPage());
  try {
    await other.addInitScript((token) => localStorage.setItem("sentivis.token", token), TOKEN);
    await other.goto(`${url}#sessions`, { waitUntil: "domcontentloaded", timeout: 90_000 });
    const listed = other.locator(`[data-testid=session-row][data-session-id="${id}"]`);
    await listed.waitFor({ timeout: 30_000 });
    assert.equal(Number(await listed.getAttribute("data-frames")), answered.length);

    // A page's worth of newer sessions (photos analysed as sessions) moves it to the second page.
    const photo = astronautJpeg();
    const photos = [];
    for (let i = 0; i < SESSIONS_PER_PAGE; i++) {
      const answer = await fetch(`${url}api/v1/analyze?session=${encodeURIComponent(`e2e photo ${i}`)}`, {
        method: "POST", headers: { "Content-Type": "image/jpeg", Authorization: `Bearer ${TOKEN}` }, body: photo });
      assert.equal(answer.status, 200, await answer.clone().text());
      photos.push((await answer.json()).session.id);
    }
    for (const photoId of photos) await waitWritten(other, photoId);
    const shown = () => other.$$eval("[data-testid=session-row]", (rows) => rows.map((r) => r.dataset.sessionId));
    await other.waitForSelector("[data-testid=session-list][data-loading=false]", { timeout: 30_000 });
    assert.deepEqual(await shown(), [...photos].reverse(), "newest first, a page of them");
    await other.getByRole("button", { name: "Older" }).click();
    await other.waitForSelector("[data-testid=session-list][data-page='2'][data-loading=false]", { timeout: 30_000 });
    assert.ok((await shown()).includes(id), `not on the second page: ${await shown()}`);
    assert.match(await listed.textContent(), new RegExp(`^${name}`));
    await other.screenshot({ path: path.join(artifacts, "e2e-sessions-page-2.png"), fullPage: true });
    await other.getByRole("button", { name: "Newer" }).click();
    await other.waitForSelector("[data-testid=session-list][data-page='1'][data-loading=false]", { timeout: 30_000 });
    assert.deepEqual(await shown(), [...photos].reverse());
    await other.getByRole("button", { name: "Older" }).click();
    await other.waitForSelector("[data-testid=session-list][data-page='2'][data-loading=false]", { timeout: 30_000 });
    await listed.locator("a").click();
    await other.waitForSelector(`[data-testid=session-view][data-session-id="${id}"][data-state=loaded]`, { timeout: 30_000 });
    assert.deepEqual(await sessionSummary(other), summary);
    await other.locator("[data-testid=person-timeline] canvas").first().waitFor({ timeout: 30_000 });
    await other.screenshot({ path: path.join(artifacts, "e2e-session-after-restart.png"), fullPage: true });

    // Delete asks first; Cancel keeps it; confirmed, it is gone from the list and the API, and its link says so.
    await other.getByRole("button", { name: "Delete…" }).click();
    const confirm = other.getByRole("alertdialog");
    assert.match(await confirm.textContent(), new RegExp(`^Delete “${name}” and all ${answered.length} frames of it`));
    await other.screenshot({ path: path.join(artifacts, "e2e-session-delete.png") });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await apiCall(other, "GET", `/api/v1/sessions/${id}`)).status, 200);
    await other.getByRole("button", { name: "Delete…" }).click();
    await other.getByRole("alertdialog").getByRole("button", { name: "Delete for good" }).click();
    assert.equal(await other.getByTestId("sessions-notice").textContent({ timeout: 30_000 }),
      `Deleted “${name}” and all its rows. Dismiss`);
    await other.waitForSelector("[data-testid=session-list][data-loading=false]", { timeout: 30_000 });
    assert.equal(await listed.count(), 0);
    const gone = await apiCall(other, "GET", `/api/v1/sessions/${id}`);
    assert.deepEqual([gone.status, gone.body.code], [404, "unknown_session"]);
    await other.goto(`${url}#sessions/${id}`);
    assert.equal(await other.getByTestId("session-error").textContent({ timeout: 30_000 }),
      "This session does not exist (any more): it was deleted, or the link is wrong.");
  } catch (error) {
    await other.screenshot({ path: path.join(artifacts, "e2e-failure-session-after-restart.png"), fullPage: true }).catch(() => undefined);
    throw error;
  } finally {
    await context.close();
  }
});

/** The summary table of the session shown in `on`, one entry per person. */
function sessionSummary(on) {
  return on.$$eval("[data-testid=summary-row]", (rows) => rows.map((r) => ({
    id: Number(r.dataset.personId), dominant: r.dataset.dominant, inView: Number(r.dataset.inViewSeconds),
    shares: [...r.querySelectorAll("[data-testid=summary-share]")].map((c) => Number(c.dataset.share)),
  })));
}
