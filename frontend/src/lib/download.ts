/** Saves `blob` as a file named `name` through the browser's download. */
export function downloadBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // After the click has handed the Blob to the download: revoking at once can cancel it in some browsers.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves `text` as a file named `name` (a Blob, no server round trip). */
export function downloadText(name: string, text: string, type: string): void {
  downloadBlob(name, new Blob([text], { type }));
}

/** A file name for a download made at `now`: sentivis-session-2024-05-01T12-30-00.csv */
export function sessionFileName(now: number, extension: string): string {
  return `sentivis-session-${new Date(now).toISOString().slice(0, 19).replace(/:/g, "-")}.${extension}`;
}
