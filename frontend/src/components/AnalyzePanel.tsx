import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../lib/api";
import { mapBox } from "../lib/boxMapping";
import { drawFaces } from "../lib/drawFaces";
import type { Inference } from "../lib/types";
import { useElementSize } from "../hooks/useElementSize";
import { ProbabilityBars } from "./ProbabilityBars";

const ACCEPTED = ["image/jpeg", "image/png"];
const MAX_BYTES = 8 * 1024 * 1024;

/** Drop or pick one image; the gateway annotates it like a live frame. */
export function AnalyzePanel() {
  const [file, setFile] = useState<File | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [result, setResult] = useState<Inference | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement | null>(null);
  const [frame, setFrame] = useState<HTMLDivElement | null>(null);
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const size = useElementSize(frame);

  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);

  const analyse = async (f: File) => {
    setError(null);
    setResult(null);
    if (!ACCEPTED.includes(f.type)) {
      setError(`"${f.name}" is not a JPEG or PNG image; choose a .jpg or .png file.`);
      return;
    }
    if (f.size > MAX_BYTES) {
      setError(`"${f.name}" is ${(f.size / 1e6).toFixed(1)} MB; the limit is ${MAX_BYTES / 1e6} MB.`);
      return;
    }
    setFile(f);
    setUrl(URL.createObjectURL(f));
    setBusy(true);
    try {
      setResult(await api.analyze(f));
    } catch (exc) {
      setError((exc as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const placed = useMemo(() => {
    if (!result) return [];
    const src = { width: result.width, height: result.height };
    return (result.faces ?? []).map((face) => ({ face, box: mapBox(face.box, src, size, "contain", false) }));
  }, [result, size]);

  useEffect(() => {
    if (canvas.current) drawFaces(canvas.current, size.width, size.height, placed);
  }, [placed, size]);

  return (
    <div className="analyze">
      <section className="card" aria-labelledby="analyze-title">
        <h2 id="analyze-title">Analyse a photo</h2>
        <div
          className={dragging ? "dropzone dragging" : "dropzone"}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            const f = e.dataTransfer.files[0];
            if (f) void analyse(f);
          }}
        >
          <p>Drop a JPEG or PNG here, or</p>
          <button type="button" className="primary" onClick={() => input.current?.click()}>Choose an image…</button>
          <input ref={input} id="analyze-file" type="file" accept="image/jpeg,image/png" className="sr-only"
                 aria-label="Image to analyse"
                 onChange={(e) => { const f = e.target.files?.[0]; if (f) void analyse(f); e.target.value = ""; }} />
        </div>
        {busy && <p role="status">Analysing {file?.name}…</p>}
        {error && <p role="alert" className="error-text" data-testid="analyze-error">{error}</p>}
      </section>
      {url && !error && (
        <section className="card analyze-result" aria-label="Analysis result">
          <div className="photo" ref={setFrame}>
            <img src={url} alt={file ? `The analysed image ${file.name}` : "The analysed image"} />
            <canvas ref={canvas} className="overlay" aria-hidden="true" />
          </div>
          <div className="photo-faces" data-testid="analyze-faces">
            {result && result.faces.length === 0 && <p>No face was found in this image.</p>}
            {result?.faces.map((face) => (
              <article key={face.id} className="face-mini" data-testid="analyze-face" data-label={face.emotion?.label ?? ""}
                       data-box={[face.box.x, face.box.y, face.box.width, face.box.height].join(",")}>
                <h3>Face #{face.id} {face.emotion ? <span className="pill">{face.emotion.label} · {Math.round(face.emotion.confidence * 100)}%</span>
                  : <span className="pill muted">no emotion model</span>}</h3>
                {face.emotion && <ProbabilityBars emotion={face.emotion} />}
              </article>
            ))}
          </div>
        </section>
      )}
    </div>
  );
}
