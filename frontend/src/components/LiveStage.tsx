import { useEffect, useMemo, useRef, useState } from "react";
import { mapFrameBoxToVideo } from "../lib/boxMapping";
import { drawFaces, faceCaption, type PlacedFace } from "../lib/drawFaces";
import type { LiveResult } from "../hooks/useLiveSession";
import { useElementSize } from "../hooks/useElementSize";
import type { CameraState } from "../hooks/useCamera";

interface Props {
  videoRef: React.RefObject<HTMLVideoElement | null>;
  result: LiveResult | null;
  camera: CameraState;
  mirrored: boolean;
  cameraError: string | null;
  onStart: () => void;
}

const STALE_MS = 1_500; // boxes older than this no longer describe what is on screen

/** The camera view with a canvas overlay aligned to it at any size (object-fit: contain). */
export function LiveStage({ videoRef, result, camera, mirrored, cameraError, onStart }: Props) {
  const [stage, setStage] = useState<HTMLDivElement | null>(null);
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const size = useElementSize(stage);

  const placed: PlacedFace[] = useMemo(() => {
    if (!result || camera !== "streaming" || Date.now() - result.receivedAt > STALE_MS) return [];
    const { inference, crop, video } = result;
    const frame = { width: inference.width, height: inference.height };
    return (inference.faces ?? []).map((face) => ({
      face,
      box: mapFrameBoxToVideo(face.box, frame, crop, video, size, "contain", mirrored),
    }));
  }, [result, camera, size, mirrored]);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    drawFaces(el, size.width, size.height, placed);
    // Clear boxes that no new answer has replaced: they no longer match the picture.
    const timer = window.setTimeout(() => drawFaces(el, size.width, size.height, []), STALE_MS);
    return () => window.clearTimeout(timer);
  }, [placed, size]);

  return (
    <div className="stage" ref={setStage} data-testid="live-stage" data-camera={camera}>
      <video
        ref={videoRef}
        className={mirrored ? "mirrored" : undefined}
        muted
        playsInline
        autoPlay
        aria-label="Camera preview"
      />
      <canvas ref={canvas} className="overlay" aria-hidden="true" data-testid="overlay-canvas" />
      {camera !== "streaming" && (
        <div className="stage-empty">
          {camera === "starting" ? (
            <p>Starting the camera…</p>
          ) : (
            <>
              <p className="stage-title">{camera === "error" ? "Camera unavailable" : "Camera is off"}</p>
              {cameraError ? <p role="alert" className="error-text">{cameraError}</p>
                : <p>Start the camera to see each face's emotion live. Frames go only to your Sentivis gateway.</p>}
              <button type="button" className="primary" onClick={onStart}>Start camera</button>
            </>
          )}
        </div>
      )}
      <ul className="sr-only" data-testid="overlay-faces" aria-label="Faces in view">
        {placed.map(({ face, box }) => (
          <li key={face.id} data-testid="overlay-face" data-face-id={face.id}
              data-label={face.emotion?.label ?? ""} data-confidence={face.emotion?.confidence ?? ""}
              data-box={[box.x, box.y, box.width, box.height].map((v) => v.toFixed(1)).join(",")}>
            {faceCaption(face)}
          </li>
        ))}
      </ul>
    </div>
  );
}
