// The conformance session with Node's socket.io-client, as a user's script would write it: the same
// steps and the same JSON report as ../python_client.py (tests/clients/test_conformance.py checks both).
//
//   node conformance.mjs URL TOKEN PARSER FRAME.jpg [FRAME.jpg ...]    PARSER: default | msgpack
//
// The default parser connects exactly as `io(url)` does: long-polling first, then the upgrade.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, token, parser, ...framePaths] = process.argv.slice(2);
const frames = framePaths.map((p) => readFileSync(p));
const WAIT_MS = 30_000;

function options(auth) {
  // Nothing but the token for the default parser; the MessagePack one has its own endpoint.
  // CONFORMANCE_TRANSPORTS=websocket: WebSocket only (behind several gateways).
  const transports = process.env.CONFORMANCE_TRANSPORTS?.split(",");
  const base = { auth, reconnectionDelay: 200, reconnectionDelayMax: 1_000, ...(transports ? { transports } : {}) };
  return parser === "default" ? base : { ...base, parser: msgpackParser, path: "/socket.io-msgpack/" };
}

function inbox(socket) {
  const events = [];
  const waiters = [];
  const deliver = () => {
    for (const w of [...waiters]) {
      const i = events.findIndex(([name, payload]) => w.accept(name, payload));
      if (i >= 0) {
        const [event] = events.splice(i, 1);
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(event);
      }
    }
  };
  for (const name of ["limits", "inference", "frame_error", "connect", "disconnect"]) {
    socket.on(name, (payload) => { events.push([name, payload]); deliver(); });
  }
  return (accept, what) => new Promise((resolve, reject) => {
    const w = { accept, resolve };
    w.timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      reject(new Error(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(events)}`));
    }, WAIT_MS);
    waiters.push(w);
    deliver();
  });
}

const answerTo = (frameId) => (name, p) => (name === "inference" || name === "frame_error") && p?.frame_id === frameId;

function refusal(auth) {
  return new Promise((resolve) => {
    const socket = io(url, { ...options(auth), reconnection: false });
    socket.on("connect", () => { socket.disconnect(); resolve({ refused: false }); });
    socket.on("connect_error", (err) => {
      socket.close();
      resolve({ refused: true, message: err.message, data: err.data ?? null });
    });
  });
}

async function session() {
  const report = { refusal: token ? await refusal({ token: `wrong-${token}` }) : null };
  const socket = io(url, options(token ? { token } : {}));
  const wait = inbox(socket);
  try {
    await wait((n) => n === "connect", "the connection");
    report.limits = (await wait((n) => n === "limits", "limits"))[1];
    const answers = [];
    for (const [i, image] of frames.entries()) {
      socket.emit("frame", { frame_id: i + 1, image });
      const [name, payload] = await wait(answerTo(i + 1), `an answer to frame ${i + 1}`);
      answers.push({ event: name, ...payload });
    }
    report.answers = answers;
    report.transport = socket.io.engine.transport.name;
    const bad = frames.length + 1;
    socket.emit("frame", { frame_id: bad, image: Buffer.concat([Buffer.from("GIF89a"), Buffer.alloc(100)]) });
    socket.emit("frame", { frame_id: "seven", image: frames[0] });
    report.errors = [(await wait(answerTo(bad), "the not-JPEG answer"))[1],
                     (await wait(answerTo(null), "the bad frame_id answer"))[1]];
    socket.io.engine.close(); // the network drops: the client reconnects by itself
    await wait((n) => n === "disconnect", "the disconnect");
    const after = { limits: (await wait((n) => n === "limits", "limits after the reconnection"))[1] };
    await wait((n) => n === "connect", "the reconnection");
    socket.emit("frame", { frame_id: bad + 1, image: frames[0] });
    const [name, payload] = await wait(answerTo(bad + 1), "an answer after the reconnection");
    report.after_reconnect = { ...after, answer: { event: name, ...payload } };
  } finally {
    socket.disconnect();
  }
  return report;
}

session().then(
  (report) => { process.stdout.write(JSON.stringify(report)); process.exit(0); },
  (err) => { process.stderr.write(`${err.stack ?? err}\n`); process.exit(1); },
);
