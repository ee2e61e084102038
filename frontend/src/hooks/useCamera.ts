import { useCallback, useEffect, useRef, useState } from "react";
import { cameraErrorMessage } from "../lib/cameraErrors";

export type CameraState = "idle" | "starting" | "streaming" | "error";

export interface CameraDevice {
  deviceId: string;
  label: string;
}

export function useCamera() {
  const videoRef = useRef<HTMLVideoElement | null>(null);
  const streamRef = useRef<MediaStream | null>(null);
  const [state, setState] = useState<CameraState>("idle");
  const [error, setError] = useState<string | null>(null);
  const [devices, setDevices] = useState<CameraDevice[]>([]);
  const [deviceId, setDeviceId] = useState<string>("");

  const refreshDevices = useCallback(async () => {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices();
    const cams = all.filter((d) => d.kind === "videoinput")
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
    setDevices(cams);
  }, []);

  const stop = useCallback(() => {
    streamRef.current?.getTracks().forEach((t) => t.stop());
    streamRef.current = null;
    if (videoRef.current) videoRef.current.srcObject = null;
    setState("idle");
  }, []);

  const start = useCallback(async (id?: string) => {
    const wanted = id ?? deviceId;
    setError(null);
    if (!navigator.mediaDevices?.getUserMedia) {
      setState("error");
      setError(cameraErrorMessage({ name: "NoMediaDevices" }));
      return;
    }
    setState("starting");
    streamRef.current?.getTracks().forEach((t) => t.stop());
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: {
          ...(wanted ? { deviceId: { exact: wanted } } : { facingMode: "user" }),
          width: { ideal: 640 },
          height: { ideal: 480 },
        },
      });
      streamRef.current = stream;
      const track = stream.getVideoTracks()[0];
      track?.addEventListener("ended", () => {
        setState("error");
        setError("The camera stopped (it was unplugged or taken by another application). Press Start camera to try again.");
      });
      const video = videoRef.current;
      if (video) {
        video.srcObject = stream;
        await video.play().catch(() => undefined); // autoplay of a muted stream is allowed; play() may still race
      }
      setDeviceId(track?.getSettings().deviceId ?? wanted);
      setState("streaming");
      await refreshDevices(); // labels are only visible after permission is granted
    } catch (exc) {
      setState("error");
      setError(cameraErrorMessage(exc));
      await refreshDevices().catch(() => undefined);
    }
  }, [deviceId, refreshDevices]);

  const choose = useCallback((id: string) => {
    setDeviceId(id);
    if (streamRef.current) void start(id);
  }, [start]);

  useEffect(() => {
    void refreshDevices().catch(() => undefined);
    const md = navigator.mediaDevices;
    const onChange = () => void refreshDevices().catch(() => undefined);
    md?.addEventListener?.("devicechange", onChange);
    return () => {
      md?.removeEventListener?.("devicechange", onChange);
      streamRef.current?.getTracks().forEach((t) => t.stop());
    };
  }, [refreshDevices]);

  return { videoRef, state, error, devices, deviceId, start, stop, choose };
}
