/** A message a person can act on, for each way getUserMedia fails. */
export function cameraErrorMessage(error: unknown): string {
  const name = (error as { name?: string } | null)?.name ?? "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera permission was denied. Allow camera access for this site in the browser's address bar, then press Start camera again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found. Connect a camera (or pick another one) and press Start camera again.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is in use by another application or cannot be read. Close the other application and try again.";
    case "NoMediaDevices":
      return "This browser offers no camera access here. Open the page over https or on localhost in a current browser.";
    default:
      return `The camera could not be started (${name || "unknown error"}: ${(error as Error)?.message ?? String(error)}).`;
  }
}
